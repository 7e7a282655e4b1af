//! Updating an agent: the PATCH body, checked against the published schema, and an unknown
//! agent. Its override permissions: the PATCH that enables them (exact, and against the
//! schema), reading them back, and the refusals.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use super::super::agent_overrides::enable_body;
use super::super::agents::patch_body;
use super::spec::{assert_fits_schema, openapi, schema};
use super::*;
use crate::ports::{AgentConfigurator, OverridePermissions};

#[tokio::test]
async fn agent_update_patches_the_voice_and_the_greeting_and_nothing_else() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .and(header("xi-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"agent_id": AGENT_ID})))
        .expect(1)
        .mount(&server)
        .await;

    client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "PATCH");
    assert_eq!(requests[0].url.path(), "/v1/convai/agents/agent_1");
    assert_eq!(header_of(&requests[0], "xi-api-key"), API_KEY);
    assert!(header_of(&requests[0], "content-type").starts_with("application/json"));
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({"conversation_config": {"tts": {"voice_id": "v1"}, "agent": {"first_message": "Hallo Ivan"}}})
    );
}

#[test]
fn a_voice_only_update_leaves_the_agent_section_out() {
    let update = AgentUpdate {
        voice_id: Some(voice("v1")),
        first_message: None,
    };
    assert_eq!(
        patch_json(&update),
        json!({"conversation_config": {"tts": {"voice_id": "v1"}}})
    );
}

#[test]
fn a_greeting_only_update_leaves_the_tts_section_out() {
    let update = AgentUpdate {
        voice_id: None,
        first_message: Some("Hallo Ivan".into()),
    };
    assert_eq!(
        patch_json(&update),
        json!({"conversation_config": {"agent": {"first_message": "Hallo Ivan"}}})
    );
}

/// The body as JSON, for comparisons.
fn patch_json(update: &AgentUpdate) -> Value {
    serde_json::from_slice(&patch_body(update)).expect("the patch body is JSON")
}

#[test]
fn the_patch_body_is_byte_for_byte_what_serde_json_writes_for_it() {
    let greeting = "quote \" backslash \\ tab \t é \u{1} </script>";
    for (voice_id, first_message) in [
        (Some("v1"), Some(greeting)),
        (Some("v1"), None),
        (None, Some(greeting)),
        (None, None),
    ] {
        let update = AgentUpdate {
            voice_id: voice_id.map(voice),
            first_message: first_message.map(str::to_owned),
        };
        let mut config = serde_json::Map::new();
        if let Some(voice_id) = voice_id {
            config.insert("tts".into(), json!({ "voice_id": voice_id }));
        }
        if let Some(first_message) = first_message {
            config.insert("agent".into(), json!({ "first_message": first_message }));
        }
        let expected = json!({ "conversation_config": config }).to_string();
        assert_eq!(
            String::from_utf8(patch_body(&update).to_vec()).as_deref(),
            Ok(expected.as_str())
        );
    }
}

#[test]
fn the_agent_patch_body_fits_the_published_update_agent_schema() {
    let spec = openapi();
    let request_schema = spec["paths"]["/v1/convai/agents/{agent_id}"]["patch"]["requestBody"]
        ["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .strip_prefix("#/components/schemas/")
        .unwrap()
        .to_owned();
    assert_eq!(
        request_schema,
        "Body_Patches_an_Agent_settings_v1_convai_agents__agent_id__patch"
    );

    let body = patch_json(&voice_and_greeting());

    // Walks conversation_config → ConversationalConfigAPIModel-Input → tts →
    // TTSConversationalConfig-Input.voice_id and agent → AgentConfigAPIModel-Input.first_message.
    assert_fits_schema(&spec, &body, &request_schema, "body");
    let config = schema(&spec, "ConversationalConfigAPIModel-Input");
    assert_eq!(
        config["properties"]["tts"]["$ref"],
        "#/components/schemas/TTSConversationalConfig-Input"
    );
    assert_eq!(
        config["properties"]["agent"]["$ref"],
        "#/components/schemas/AgentConfigAPIModel-Input"
    );
}

#[tokio::test]
async fn an_unknown_agent_is_an_invalid_request_and_is_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Agent not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        UpstreamError::InvalidRequest("Agent not found".into())
    );
}

/// The one body that turns the three permissions on, and nothing else.
fn the_enable_body() -> Value {
    json!({"platform_settings": {"overrides": {
        "enable_conversation_initiation_client_data_from_webhook": true,
        "conversation_config_override": {
            "tts": {"voice_id": true},
            "agent": {"first_message": true}
        }
    }}})
}

/// A mock ElevenLabs whose agent `agent_1` answers `GET` with `agent`.
async fn agent_reads_as(agent: Value) -> (wiremock::MockServer, ElevenLabsClient) {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/convai/agents/agent_1"))
        .and(header("xi-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(agent))
        .expect(1)
        .mount(&server)
        .await;
    (server, client)
}

#[tokio::test]
async fn enabling_overrides_patches_the_three_permissions_and_nothing_else() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .and(header("xi-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"agent_id": AGENT_ID})))
        .expect(1)
        .mount(&server)
        .await;

    client
        .enable_override_permissions(&agent(), in_secs(10))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "PATCH");
    assert_eq!(requests[0].url.path(), "/v1/convai/agents/agent_1");
    assert!(header_of(&requests[0], "content-type").starts_with("application/json"));
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(body, the_enable_body());
}

#[test]
fn the_enable_overrides_body_fits_the_published_platform_settings_schema() {
    let spec = openapi();
    let body = enable_body();

    // Walks platform_settings → AgentPlatformSettingsRequestModel.overrides →
    // ConversationInitiationClientDataConfig-Input (the webhook flag, a boolean) →
    // conversation_config_override → ConversationConfigClientOverrideConfig-Input →
    // tts → TTSConversationalConfigOverrideConfig.voice_id and
    // agent → AgentConfigOverrideConfig.first_message, both booleans.
    assert_fits_schema(
        &spec,
        &body,
        "Body_Patches_an_Agent_settings_v1_convai_agents__agent_id__patch",
        "body",
    );
    let refs = [
        (
            "Body_Patches_an_Agent_settings_v1_convai_agents__agent_id__patch",
            "platform_settings",
            "AgentPlatformSettingsRequestModel",
        ),
        (
            "AgentPlatformSettingsRequestModel",
            "overrides",
            "ConversationInitiationClientDataConfig-Input",
        ),
        (
            "ConversationInitiationClientDataConfig-Input",
            "conversation_config_override",
            "ConversationConfigClientOverrideConfig-Input",
        ),
        (
            "ConversationConfigClientOverrideConfig-Input",
            "tts",
            "TTSConversationalConfigOverrideConfig",
        ),
        (
            "ConversationConfigClientOverrideConfig-Input",
            "agent",
            "AgentConfigOverrideConfig",
        ),
    ];
    for (parent, property, target) in refs {
        assert_eq!(
            schema(&spec, parent)["properties"][property]["$ref"],
            format!("#/components/schemas/{target}"),
            "{parent}.{property}"
        );
    }
    let flags = [
        (
            "ConversationInitiationClientDataConfig-Input",
            "enable_conversation_initiation_client_data_from_webhook",
        ),
        ("TTSConversationalConfigOverrideConfig", "voice_id"),
        ("AgentConfigOverrideConfig", "first_message"),
    ];
    for (parent, flag) in flags {
        let property = &schema(&spec, parent)["properties"][flag];
        assert_eq!(property["type"], "boolean", "{parent}.{flag}");
        assert_eq!(
            property["default"], false,
            "{parent}.{flag} is off by default"
        );
    }
    assert_eq!(body, the_enable_body(), "exactly the three, nothing else");
}

#[tokio::test]
async fn reading_overrides_reports_each_permission_as_the_agent_has_it() {
    let (_server, client) = agent_reads_as(json!({
        "agent_id": AGENT_ID,
        "name": "Support",
        "conversation_config": {"tts": {"voice_id": "premade"}},
        "platform_settings": {"overrides": {
            "enable_conversation_initiation_client_data_from_webhook": true,
            "custom_llm_extra_body": false,
            "conversation_config_override": {
                "tts": {"voice_id": true},
                "agent": {"first_message": false, "language": true},
                "conversation": null
            }
        }}
    }))
    .await;

    let permissions = client
        .read_override_permissions(&agent(), in_secs(10))
        .await
        .unwrap();

    assert_eq!(
        permissions,
        OverridePermissions {
            initiation_webhook: true,
            voice_id: true,
            first_message: false,
        }
    );
}

#[tokio::test]
async fn an_agent_that_mentions_no_overrides_has_none_on() {
    for agent_body in [
        json!({"agent_id": AGENT_ID, "name": "Support", "conversation_config": {}}),
        json!({"agent_id": AGENT_ID, "platform_settings": null}),
        json!({"agent_id": AGENT_ID, "platform_settings": {"overrides": null}}),
        json!({"agent_id": AGENT_ID, "platform_settings": {"overrides": {
            "enable_conversation_initiation_client_data_from_webhook": null,
            "conversation_config_override": {"tts": null, "agent": {}}
        }}}),
    ] {
        let (_server, client) = agent_reads_as(agent_body.clone()).await;

        let permissions = client
            .read_override_permissions(&agent(), in_secs(10))
            .await
            .unwrap();

        assert_eq!(permissions, OverridePermissions::default(), "{agent_body}");
    }
}

#[tokio::test]
async fn enabling_overrides_on_an_unknown_agent_is_an_invalid_request_and_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(business_error(
            404,
            "agent_not_found",
            "Agent with id agent_1 was not found.",
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .enable_override_permissions(&agent(), in_secs(10))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        UpstreamError::InvalidRequest(
            "agent_not_found: Agent with id agent_1 was not found.".into()
        )
    );
}

#[tokio::test]
async fn reading_overrides_with_a_bad_key_is_a_refusal() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(business_error(401, "invalid_api_key", "Invalid API key"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .read_override_permissions(&agent(), in_secs(10))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        UpstreamError::Refused("invalid_api_key: Invalid API key".into())
    );
}

#[tokio::test]
async fn an_unreadable_agent_is_unavailable_not_all_off() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;

    let error = client
        .read_override_permissions(&agent(), in_secs(10))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, UpstreamError::Unavailable(reason) if reason.starts_with("read overrides:")),
        "{error:?}"
    );
}
