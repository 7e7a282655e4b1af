//! Updating an agent: the PATCH body, checked against the published schema, and an unknown
//! agent.

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use super::super::agents::patch_body;
use super::spec::{assert_fits_schema, openapi, schema};
use super::*;
use crate::ports::AgentConfigurator;

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
        patch_body(&update),
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
        patch_body(&update),
        json!({"conversation_config": {"agent": {"first_message": "Hallo Ivan"}}})
    );
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

    let body = patch_body(&voice_and_greeting());

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
