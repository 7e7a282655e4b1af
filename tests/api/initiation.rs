//! `POST /webhook/conversation-initiation` (SPEC): ElevenLabs asks at ring time, and the answer
//! — from the registry alone — puts the caller's clone and greeting on that one call. Off
//! without a token, `401` with a wrong one, and `200` for everything else.

use serde_json::{Value, json};

use crate::fake_elevenlabs::FakeElevenLabs;
use crate::helpers::{
    PHONE_NUMBER, TestApp, assert_error, body_of, fixture, json_payload, spawn_against_fake,
    spawn_app, spawn_app_with, status_and_json,
};

pub const TOKEN: &str = "initiation-token-0123456789";
pub const BEARER: &str = "Bearer initiation-token-0123456789";
const AGENT: &str = "agent_def456uvw";

/// What ElevenLabs sends when `caller` rings the agent on the Twilio call `call_sid`.
pub fn ring(caller: &str, call_sid: &str) -> Vec<u8> {
    body_of(&json!({
        "caller_id": caller,
        "agent_id": AGENT,
        "called_number": "+31201234567",
        "call_sid": call_sid
    }))
}

/// The answer to `body`, which must be a `200`.
pub async fn answer(app: &TestApp, body: Vec<u8>) -> Value {
    let (status, answer) = status_and_json(app.initiate(Some(BEARER), body).await).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The neutral answer with `defaults` among the dynamic variables.
fn neutral(defaults: Value) -> Value {
    let mut variables = defaults;
    variables["caller_name"] = json!("");
    variables["voice_personalised"] = json!(false);
    json!({"type": "conversation_initiation_client_data", "dynamic_variables": variables})
}

/// A pre-call webhook for `conversation_id` from Ivan (`phone`, or none) with a sample.
pub async fn pre_call(app: &TestApp, conversation_id: &str, phone: Option<&str>) -> Value {
    let mut payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"]["phone_number"] = phone.map_or(Value::Null, Value::from);
    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The stateful ElevenLabs stand-in, with the agent the calls ring.
async fn fake_with_agent() -> FakeElevenLabs {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "voice_original_0001", "Welkom!");
    fake
}

#[tokio::test]
async fn without_a_token_configured_the_endpoint_is_not_there() {
    let app = spawn_app().await;
    let response = app.initiate(Some(BEARER), ring(PHONE_NUMBER, "CA1")).await;
    assert_error(response, 404, "NOT_FOUND", None).await;
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused() {
    let app = spawn_app_with(&[("CONVERSATION_INITIATION_TOKEN", TOKEN)]).await;
    let wrong = [
        None,
        Some("Bearer initiation-token-012345678"),
        Some("Bearer initiation-token-0123456789x"),
        Some("Basic aW5pdGlhdGlvbi10b2tlbg=="),
        Some(TOKEN),
    ];
    for authorization in wrong {
        let response = app.initiate(authorization, ring(PHONE_NUMBER, "CA1")).await;
        assert_error(response, 401, "UNAUTHORIZED", None).await;
    }
    // The body of an unauthenticated request is never read, however large.
    let response = app.initiate(None, vec![b' '; 1 << 20]).await;
    assert_error(response, 401, "UNAUTHORIZED", None).await;
}

#[tokio::test]
async fn an_unknown_caller_gets_the_neutral_answer_with_every_default_in_its_json_type() {
    let defaults = json!({"account_tier": "standard", "max_minutes": 30, "vip": false});
    let app = spawn_app_with(&[
        ("CONVERSATION_INITIATION_TOKEN", TOKEN),
        ("INITIATION_DYNAMIC_VARIABLES", &defaults.to_string()),
    ])
    .await;
    let response = app.initiate(Some(BEARER), ring(PHONE_NUMBER, "CA1")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("a body");
    assert!(
        !text.contains("null"),
        "fields are omitted, never null: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(body, neutral(defaults));
}

#[tokio::test]
async fn a_body_that_cannot_be_used_still_gets_the_neutral_answer() {
    let fake = fake_with_agent().await;
    let app = spawn_against_fake(&fake, &[("CONVERSATION_INITIATION_TOKEN", TOKEN)]).await;
    // Ivan has a clone, so a neutral answer below means the request could not reach it.
    pre_call(&app, "conv_a", Some(PHONE_NUMBER)).await;
    let unusable = [
        b"".to_vec(),
        b"not json".to_vec(),
        b"[1, 2, 3]".to_vec(),
        body_of(&json!({"agent_id": AGENT, "call_sid": "CA1"})),
        body_of(&json!({"caller_id": 31_612_345_678_u64, "call_sid": "CA1"})),
        // No call id: the clone could not be bound, so the sweep might take it mid-call.
        body_of(&json!({"caller_id": PHONE_NUMBER, "agent_id": AGENT})),
        body_of(&json!({"caller_id": PHONE_NUMBER, "call_sid": "has spaces"})),
        // Over the 64 KiB cap.
        body_of(&json!({"caller_id": PHONE_NUMBER, "call_sid": "CA1", "pad": "x".repeat(70_000)})),
    ];
    for body in unusable {
        assert_eq!(answer(&app, body).await, neutral(json!({})));
    }
}

#[tokio::test]
async fn a_callers_clone_and_greeting_go_on_their_call_from_the_registry_alone() {
    let fake = fake_with_agent().await;
    let app = spawn_against_fake(
        &fake,
        &[
            ("CONVERSATION_INITIATION_TOKEN", TOKEN),
            (
                "INITIATION_DYNAMIC_VARIABLES",
                r#"{"account_tier":"standard"}"#,
            ),
        ],
    )
    .await;
    let voice_id = pre_call(&app, "conv_a", Some(PHONE_NUMBER)).await["voice_id"].clone();
    let requests_before = fake.requests().len();

    // The same number as ElevenLabs writes it, or with spaces: the same caller.
    let first = answer(&app, ring("+31 6 1234 5678", "CA1")).await;
    let mut expected: Value =
        serde_json::from_str(include_str!("../fixtures/initiation/answer.json"))
            .expect("a fixture");
    expected["conversation_config_override"]["tts"]["voice_id"] = voice_id;
    assert_eq!(
        first, expected,
        "ElevenLabs' documented answer, with our clone"
    );

    let again = answer(&app, ring(PHONE_NUMBER, "CA1")).await;
    assert_eq!(
        again, first,
        "the same call asked twice gets the same answer"
    );
    assert_eq!(
        fake.requests().len(),
        requests_before,
        "nothing on this path asks ElevenLabs"
    );
}

#[tokio::test]
async fn without_the_callers_name_the_greeting_is_left_out() {
    let fake = fake_with_agent().await;
    let app = spawn_against_fake(&fake, &[("CONVERSATION_INITIATION_TOKEN", TOKEN)]).await;
    let mut payload = json_payload("conv_a", Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"] = json!({"phone_number": PHONE_NUMBER});
    let (status, made) = status_and_json(app.post_json(&body_of(&payload)).await).await;
    assert_eq!(status, 200, "{made}");

    let body = answer(&app, ring(PHONE_NUMBER, "CA1")).await;
    assert_eq!(
        body,
        json!({
            "type": "conversation_initiation_client_data",
            "dynamic_variables": {"caller_name": "", "voice_personalised": true},
            "conversation_config_override": {"tts": {"voice_id": made["voice_id"]}}
        })
    );
}

#[tokio::test]
async fn an_anonymous_clone_is_never_served_to_a_call() {
    let fake = fake_with_agent().await;
    let app = spawn_against_fake(&fake, &[("CONVERSATION_INITIATION_TOKEN", TOKEN)]).await;
    pre_call(&app, "conv_a", None).await;
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(
        answer(&app, ring(PHONE_NUMBER, "CA1")).await,
        neutral(json!({}))
    );
}
