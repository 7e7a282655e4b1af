//! Agents: reading one back, the deep merge of a PATCH, the PATCH history, unknown agents,
//! bodies that are not JSON objects, and a PATCH whose settings are silently dropped.

use reqwest::Method;
use serde_json::json;

use super::{request, send};
use crate::fake_elevenlabs::{FakeElevenLabs, Fault, Route};

const AGENT: &str = "/v1/convai/agents/agent_1";

#[tokio::test]
async fn a_patch_deep_merges_into_the_agent_which_reads_back_merged_and_keeps_its_history() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_1", "premade_voice", "Hello!");

    let (status, before) = send(request(&fake, Method::GET, AGENT)).await;
    assert_eq!(status, 200);
    assert_eq!(before["agent_id"], "agent_1");
    assert_eq!(
        before["conversation_config"]["tts"]["voice_id"],
        "premade_voice"
    );
    assert_eq!(
        before["conversation_config"]["agent"]["first_message"],
        "Hello!"
    );

    let voice_patch = json!({"conversation_config": {"tts": {"voice_id": "fake_voice_000001"}}});
    let (status, after) = send(request(&fake, Method::PATCH, AGENT).json(&voice_patch)).await;
    assert_eq!(status, 200);
    assert_eq!(
        after["conversation_config"]["tts"]["voice_id"],
        "fake_voice_000001"
    );
    assert_eq!(
        after["conversation_config"]["tts"]["model_id"],
        before["conversation_config"]["tts"]["model_id"],
        "siblings of a patched field stay"
    );
    assert_eq!(
        after["conversation_config"]["agent"],
        before["conversation_config"]["agent"]
    );

    let greeting_patch = json!({
        "conversation_config": {"agent": {"first_message": "Hallo Ivan, fijn dat je belt!"}},
        "name": null,
        "platform_settings": {"overrides": {"enable_conversation_initiation_client_data_from_webhook": true}}
    });
    send(request(&fake, Method::PATCH, AGENT).json(&greeting_patch)).await;
    let (_, read_back) = send(request(&fake, Method::GET, AGENT)).await;
    assert_eq!(Some(read_back.clone()), fake.agent("agent_1"));
    assert_eq!(
        read_back["name"], "Fake agent agent_1",
        "a null leaves the field alone"
    );
    assert_eq!(
        read_back["platform_settings"]["overrides"]["conversation_config_override"]["tts"],
        json!({"voice_id": false}),
        "siblings deep down stay"
    );
    assert_eq!(
        read_back["platform_settings"]["overrides"]["enable_conversation_initiation_client_data_from_webhook"],
        true
    );
    assert_eq!(
        fake.agent_voice_id("agent_1").as_deref(),
        Some("fake_voice_000001")
    );
    assert_eq!(
        fake.agent_first_message("agent_1").as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
    assert_eq!(fake.agent_patches("agent_1"), [voice_patch, greeting_patch]);
    assert_eq!(
        fake.agent_voices_ever("agent_1"),
        ["premade_voice", "fake_voice_000001"]
    );
}

#[tokio::test]
async fn an_unknown_agent_is_404_agent_not_found_for_reads_and_patches() {
    let fake = FakeElevenLabs::start().await;
    let path = "/v1/convai/agents/agent_nobody";

    for builder in [
        request(&fake, Method::GET, path),
        request(&fake, Method::PATCH, path).json(&json!({})),
    ] {
        let (status, body) = send(builder).await;
        assert_eq!(status, 404);
        assert_eq!(body["detail"]["status"], "agent_not_found", "{body}");
    }
    assert_eq!(
        fake.agent_patches("agent_nobody"),
        Vec::<serde_json::Value>::new()
    );
}

#[tokio::test]
async fn a_patch_that_is_not_a_json_object_is_422_and_changes_nothing() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_1", "premade_voice", "Hello!");
    let before = fake.agent("agent_1");

    for builder in [
        request(&fake, Method::PATCH, AGENT).body("{not json"),
        request(&fake, Method::PATCH, AGENT)
            .header("content-type", "application/json")
            .body("{not json"),
        request(&fake, Method::PATCH, AGENT).json(&json!(["a", "list"])),
        request(&fake, Method::PATCH, AGENT).json(&json!({"conversation_config": "tts"})),
    ] {
        let (status, body) = send(builder).await;
        assert_eq!(status, 422, "{body}");
        assert!(body["detail"][0]["loc"].is_array(), "{body}");
    }
    assert_eq!(fake.agent("agent_1"), before);
    assert!(fake.agent_patches("agent_1").is_empty());
}

#[tokio::test]
async fn a_silently_dropped_part_of_a_patch_answers_200_is_recorded_but_not_kept() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_1", "premade_voice", "Hello!");
    let before = fake.agent_overrides("agent_1");
    fake.on(Route::PatchAgent)
        .next(Fault::drop_silently("/platform_settings/overrides"));
    let patch = json!({
        "conversation_config": {"agent": {"first_message": "Hallo!"}},
        "platform_settings": {"overrides": {
            "enable_conversation_initiation_client_data_from_webhook": true
        }}
    });

    let (status, answered) = send(request(&fake, Method::PATCH, AGENT).json(&patch)).await;

    assert_eq!(status, 200);
    assert_eq!(
        answered["platform_settings"]["overrides"],
        before.clone().unwrap(),
        "the answer shows the agent as it is: the overrides unchanged"
    );
    assert_eq!(fake.agent_overrides("agent_1"), before, "not kept");
    assert_eq!(
        fake.agent_first_message("agent_1").as_deref(),
        Some("Hallo!"),
        "the rest of the PATCH is kept"
    );
    assert_eq!(
        fake.agent_patches("agent_1"),
        std::slice::from_ref(&patch),
        "recorded as received"
    );

    send(request(&fake, Method::PATCH, AGENT).json(&patch)).await;
    assert_eq!(
        fake.agent_overrides("agent_1").unwrap()["enable_conversation_initiation_client_data_from_webhook"],
        true,
        "a queued fault is used once: the next PATCH is kept"
    );
}

#[tokio::test]
async fn overrides_patched_in_part_merge_into_the_agents_own() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_1", "premade_voice", "Hello!");
    let patch = json!({"platform_settings": {"overrides": {
        "conversation_config_override": {"tts": {"voice_id": true}}
    }}});

    let (status, _) = send(request(&fake, Method::PATCH, AGENT).json(&patch)).await;

    assert_eq!(status, 200);
    assert_eq!(
        fake.agent_overrides("agent_1"),
        Some(json!({
            "enable_conversation_initiation_client_data_from_webhook": false,
            "conversation_config_override": {
                "agent": {"first_message": false, "language": false},
                "tts": {"voice_id": true}
            }
        }))
    );
    let (_, read_back) = send(request(&fake, Method::GET, AGENT)).await;
    assert_eq!(
        read_back["platform_settings"]["overrides"],
        fake.agent_overrides("agent_1").unwrap()
    );
}
