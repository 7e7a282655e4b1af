//! `AGENT_UPDATE_MODE=override` (SPEC "Voice lifecycle" 5): pre-call webhooks clone and
//! register but never touch the agent; each call gets its caller's voice through the
//! conversation-initiation answer, so overlapping calls on one agent never hear each other; the
//! post-call event finds the clone by the call it was bound to.

use serde_json::{Value, json};

use crate::fake_elevenlabs::FakeElevenLabs;
use crate::helpers::{
    TestApp, body_of, fixture, json_payload, spawn_against_fake, status_and_json,
};
use crate::initiation::{TOKEN, answer, ring};

const AGENT: &str = "agent_def456uvw";
const ORIGINAL_VOICE: &str = "voice_original_0001";
const ORIGINAL_GREETING: &str = "Welkom bij de klantenservice.";

const IVAN: &str = "+31612345678";
const MARIA: &str = "+31687654321";

async fn override_app(fake: &FakeElevenLabs, extra: &[(&str, &str)]) -> TestApp {
    fake.add_agent(AGENT, ORIGINAL_VOICE, ORIGINAL_GREETING);
    let mut vars = vec![
        ("CONVERSATION_INITIATION_TOKEN", TOKEN),
        ("AGENT_UPDATE_MODE", "override"),
    ];
    vars.extend_from_slice(extra);
    spawn_against_fake(fake, &vars).await
}

/// A pre-call webhook from `name` on `phone` (none: withheld) with a sample; its answer.
async fn pre_call(app: &TestApp, conversation_id: &str, name: &str, phone: Option<&str>) -> Value {
    let mut payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"]["name"] = json!(name);
    payload["caller_metadata"]["phone_number"] = phone.map_or(Value::Null, Value::from);
    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// ElevenLabs' transcription event for the Twilio call `call_sid`, under its own conversation
/// id (not the one of our pre-call webhook) and without an echoed override.
fn transcription_of_call(call_sid: &str) -> Value {
    json!({
        "type": "post_call_transcription",
        "event_timestamp": 1_796_161_275,
        "data": {
            "agent_id": AGENT,
            "conversation_id": format!("conv_el_{call_sid}"),
            "status": "done",
            "transcript": [],
            "metadata": {"phone_call": {"type": "twilio", "call_sid": call_sid}}
        }
    })
}

async fn post_call_action(app: &TestApp, event: &Value) -> String {
    let (status, body) = status_and_json(app.post_call(event).await).await;
    assert_eq!(status, 200, "{body}");
    body["action"].as_str().expect("an action").to_owned()
}

fn assert_agent_untouched(fake: &FakeElevenLabs) {
    assert!(
        fake.agent_patches(AGENT).is_empty(),
        "the agent was patched"
    );
    assert_eq!(fake.agent_voice_id(AGENT).as_deref(), Some(ORIGINAL_VOICE));
    assert_eq!(
        fake.agent_first_message(AGENT).as_deref(),
        Some(ORIGINAL_GREETING)
    );
}

#[tokio::test]
async fn two_overlapping_calls_on_one_agent_each_hear_their_own_caller() {
    let fake = FakeElevenLabs::start().await;
    let app = override_app(&fake, &[]).await;
    let ivan = pre_call(&app, "conv_ivan", "Ivan", Some(IVAN)).await;
    let maria = pre_call(&app, "conv_maria", "Maria", Some(MARIA)).await;
    for made in [&ivan, &maria] {
        assert_eq!(made["agent_updated"], false, "{made}");
        assert_eq!(made["voice_reused"], false, "{made}");
    }
    assert_ne!(ivan["voice_id"], maria["voice_id"]);
    assert_agent_untouched(&fake);

    // Both calls ring at once, on the same agent.
    let (ivans_call, marias_call) = tokio::join!(
        answer(&app, ring(IVAN, "CA_ivan")),
        answer(&app, ring(MARIA, "CA_maria")),
    );
    for (call, made, name) in [
        (&ivans_call, &ivan, "Ivan"),
        (&marias_call, &maria, "Maria"),
    ] {
        let call_override = &call["conversation_config_override"];
        assert_eq!(call_override["tts"]["voice_id"], made["voice_id"], "{call}");
        assert_eq!(
            call_override["agent"]["first_message"],
            format!("Hallo {name}, fijn dat je belt!")
        );
        assert_eq!(call["dynamic_variables"]["caller_name"], name);
        assert_eq!(call["dynamic_variables"]["voice_personalised"], true);
    }
    // A repeat caller is reused in override mode too, still without a PATCH.
    let again = pre_call(&app, "conv_ivan_2", "Ivan", Some(IVAN)).await;
    assert_eq!(again["voice_reused"], true);
    assert_eq!(again["voice_id"], ivan["voice_id"]);
    assert_eq!(fake.voice_count(), 2);
    assert_agent_untouched(&fake);
}

#[tokio::test]
async fn without_a_caller_number_nothing_is_cloned_because_no_call_could_find_it() {
    let fake = FakeElevenLabs::start().await;
    let app = override_app(&fake, &[]).await;
    let made = pre_call(&app, "conv_anon", "Ivan", None).await;
    assert_eq!(made["voice_id"], Value::Null, "{made}");
    assert_eq!(made["agent_updated"], false);
    assert_eq!(fake.voice_count(), 0);
    assert_eq!(fake.subscription().voice_add_edit_counter, 0);
    assert_agent_untouched(&fake);
}

#[tokio::test]
async fn a_post_call_event_for_a_call_bound_at_initiation_releases_that_calls_clone() {
    let fake = FakeElevenLabs::start().await;
    // Room for two of our clones: a third must evict one that is not in a call.
    let app = override_app(&fake, &[("VOICE_MAX_LIVE_CLONES", "2")]).await;
    let ivan = pre_call(&app, "conv_ivan", "Ivan", Some(IVAN)).await;
    let maria = pre_call(&app, "conv_maria", "Maria", Some(MARIA)).await;
    answer(&app, ring(IVAN, "CA_ivan")).await;
    // Maria rings over SIP: her call is bound by its `call_id`.
    let sip: Vec<u8> = body_of(&json!({
        "caller_id": MARIA, "agent_id": AGENT, "called_number": "+31201234567",
        "call_id": "3c5e2b7a-9f41-4d0e-8c1a-6b2d9e0f7a51@sip.example.net"
    }));
    assert_eq!(
        answer(&app, sip).await["conversation_config_override"]["tts"]["voice_id"],
        maria["voice_id"]
    );

    // Both clones are in a call: nothing can be evicted for a third caller.
    let mut third = json_payload("conv_third", Some(&fixture("voice_5s.wav")));
    third["caller_metadata"]["phone_number"] = json!("+31600000003");
    let (status, refused) = status_and_json(app.post_json(&body_of(&third)).await).await;
    assert_eq!(status, 422, "{refused}");

    // Ivan's call ends; ElevenLabs' event knows it by its call and its own conversation id.
    assert_eq!(
        post_call_action(&app, &transcription_of_call("CA_ivan")).await,
        "kept"
    );
    assert_eq!(
        post_call_action(&app, &transcription_of_call("CA_nobody")).await,
        "none"
    );
    // Now Ivan's clone — and only his — is out of its call, so it is the one evicted.
    let (status, made) = status_and_json(app.post_json(&body_of(&third)).await).await;
    assert_eq!(status, 200, "{made}");
    let on_account: Vec<String> = fake.voices().into_iter().map(|v| v.voice_id).collect();
    assert!(!on_account.contains(&ivan["voice_id"].as_str().unwrap().to_owned()));
    assert!(on_account.contains(&maria["voice_id"].as_str().unwrap().to_owned()));
    assert_eq!(on_account.len(), 2);

    // Maria's SIP call ends: the event carries both a `call_sid` and the `call_id` it rang with.
    let sip_event: Value =
        serde_json::from_str(include_str!("../fixtures/post_call/transcription_sip.json"))
            .expect("a fixture");
    assert_eq!(post_call_action(&app, &sip_event).await, "kept");
    assert_agent_untouched(&fake);
}
