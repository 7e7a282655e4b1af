//! `POST /webhook/post-call` (SPEC): ElevenLabs' signed post-call events end the call of a
//! clone. A clone that served its conversation alone is deleted (its agent put back first); a
//! caller's clone is kept for reuse; duplicates, audio and unknown types change nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_elevenlabs::{Answer, FakeElevenLabs, Fault, Route};
use crate::helpers::{
    TestApp, assert_error, body_of, fixture, json_payload, spawn_against_fake, spawn_app_with,
    status_and_json,
};

const AGENT: &str = "agent_def456uvw";

/// A transcription event for `conversation_id`, as ElevenLabs sends it.
fn transcription(conversation_id: &str, event_timestamp: Value) -> Value {
    json!({
        "type": "post_call_transcription",
        "event_timestamp": event_timestamp,
        "data": {
            "agent_id": AGENT,
            "conversation_id": conversation_id,
            "status": "done",
            "transcript": [{"role": "agent", "message": "Hallo Ivan", "time_in_call_secs": 0}],
            "metadata": {"phone_call": {"type": "twilio", "call_sid": "CA0001"}}
        }
    })
}

async fn action(app: &TestApp, event: &Value) -> String {
    let (status, body) = status_and_json(app.post_call(event).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    body["action"].as_str().expect("an action").to_owned()
}

/// Ivan's pre-call webhook for `conversation_id`, with `phone` (none: an anonymous caller).
async fn pre_call(app: &TestApp, conversation_id: &str, phone: Option<&str>) -> Value {
    let mut payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"]["phone_number"] = phone.map_or(Value::Null, Value::from);
    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls until `condition` holds; the guard only turns a wait that would never end into a
/// failure, it asserts no duration.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let wait = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{what} within 30 s"));
}

async fn account() -> FakeElevenLabs {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    fake
}

#[tokio::test]
async fn an_anonymous_callers_clone_is_deleted_after_the_call_and_the_agent_put_back_first() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    let answer = pre_call(&app, "conv_anon", None).await;
    assert_eq!(
        fake.agent_voice_id(AGENT).as_deref(),
        answer["voice_id"].as_str()
    );

    assert_eq!(
        action(&app, &transcription("conv_anon", json!(1_796_161_275))).await,
        "released"
    );

    eventually("the clone to be deleted", || fake.voice_count() == 0).await;
    assert_eq!(
        fake.agent_voice_id(AGENT).as_deref(),
        Some("premade_voice"),
        "the agent speaks with its own voice again, never with a deleted one"
    );
    assert_eq!(
        fake.agent_first_message(AGENT).as_deref(),
        Some("Hello!"),
        "and greets as before"
    );
}

#[tokio::test]
async fn a_callers_clone_is_kept_for_reuse_after_the_call() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    let first = pre_call(&app, "conv_ivan", Some("+31612345678")).await;

    assert_eq!(
        action(&app, &transcription("conv_ivan", json!(1))).await,
        "kept"
    );

    let again = pre_call(&app, "conv_ivan_again", Some("+31612345678")).await;
    assert_eq!(again["voice_reused"], true);
    assert_eq!(again["voice_id"], first["voice_id"]);
    assert_eq!(fake.request_count(Route::DeleteVoice), 0);
}

#[tokio::test]
async fn the_same_event_twice_is_a_duplicate_and_another_timestamp_another_event() {
    let app = spawn_app_with(&[]).await;
    let event = transcription("conv_nothing", json!("1796161275"));
    assert_eq!(action(&app, &event).await, "none", "no clone served it");
    assert_eq!(action(&app, &event).await, "duplicate");
    let later = transcription("conv_nothing", json!(1_796_161_276));
    assert_eq!(action(&app, &later).await, "none");
}

#[tokio::test]
async fn audio_and_unknown_events_are_answered_200_and_ignored() {
    let app = spawn_app_with(&[]).await;
    let audio = json!({"type": "post_call_audio", "event_timestamp": 1,
        "data": {"conversation_id": "conv_a", "full_audio": "QUFB".repeat(1000)}});
    assert_eq!(action(&app, &audio).await, "ignored");
    let unknown = json!({"type": "something_new", "event_timestamp": 1, "data": {}});
    assert_eq!(action(&app, &unknown).await, "ignored");
}

#[tokio::test]
async fn a_clone_is_found_by_the_override_voice_when_the_conversation_is_unknown() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    let answer = pre_call(&app, "conv_pre", None).await;
    let mut event = transcription("conv_initiated_elsewhere", json!(7));
    event["data"]["conversation_initiation_client_data"] =
        json!({"conversation_config_override": {"tts": {"voice_id": answer["voice_id"]}}});

    assert_eq!(action(&app, &event).await, "released");
    eventually("the clone to be deleted", || fake.voice_count() == 0).await;
}

#[tokio::test]
async fn bad_signatures_bodies_and_sizes_are_refused_in_the_error_shape() {
    let app = spawn_app_with(&[("POST_CALL_MAX_BODY_MB", "0.01")]).await;
    let body = body_of(&transcription("conv_x", json!(1)));
    let unsigned = app
        .client
        .post(app.url("/webhook/post-call"))
        .header("content-type", "application/json")
        .header("elevenlabs-signature", "t=1,v0=00")
        .body(body);
    assert_error(
        crate::helpers::send(unsigned).await,
        401,
        "INVALID_SIGNATURE",
        None,
    )
    .await;
    assert_error(
        app.post_call(&json!("not an event")).await,
        400,
        "INVALID_PAYLOAD",
        None,
    )
    .await;
    assert_error(
        app.post_call(&json!({"data": {}})).await,
        400,
        "INVALID_PAYLOAD",
        None,
    )
    .await;
    let large = json!({"type": "post_call_audio", "data": {"full_audio": "A".repeat(20_000)}});
    assert_error(app.post_call(&large).await, 413, "PAYLOAD_TOO_LARGE", None).await;
}

#[tokio::test]
async fn its_own_secret_signs_the_post_call_webhook_when_configured() {
    let app = spawn_app_with(&[("ELEVENLABS_POST_CALL_SECRET", "post_call_only")]).await;
    // The app's signer uses the pre-call secret: refused here.
    assert_error(
        app.post_call(&transcription("conv_y", json!(1))).await,
        401,
        "INVALID_SIGNATURE",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_clone_whose_agent_cannot_be_put_back_is_kept_never_pulled_from_under_it() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_MAX_RETRIES", "1")]).await;
    let answer = pre_call(&app, "conv_stuck", None).await;
    // From now on every agent update fails without acting: the agent cannot be put back.
    fake.on(Route::PatchAgent)
        .always(Fault::without_acting(Answer::status(503)));

    assert_eq!(
        action(&app, &transcription("conv_stuck", json!(1))).await,
        "released"
    );

    eventually("the restore to be tried", || {
        fake.request_count(Route::PatchAgent) >= 3
    })
    .await;
    app.stop().await;
    assert_eq!(
        fake.request_count(Route::DeleteVoice),
        0,
        "no delete without a put-back"
    );
    let kept = fake
        .assert_only_the_agents_voice_for("conv_stuck", AGENT)
        .expect("the clone the agent speaks with is kept");
    assert_eq!(Some(kept.voice_id.as_str()), answer["voice_id"].as_str());
}

#[tokio::test]
async fn a_release_whose_delete_answer_is_lost_is_retried_and_leaves_none() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    pre_call(&app, "conv_lost_delete", None).await;
    // ElevenLabs deletes the voice, then answers 503: the retry finds it gone (404 = deleted).
    fake.on(Route::DeleteVoice)
        .next(Fault::act_then(Answer::status(503)));

    assert_eq!(
        action(&app, &transcription("conv_lost_delete", json!(1))).await,
        "released"
    );

    eventually("the delete to be retried", || {
        fake.request_count(Route::DeleteVoice) >= 2
    })
    .await;
    app.stop().await;
    assert_eq!(fake.voice_count(), 0, "the account holds none");
    assert_eq!(fake.agent_voice_id(AGENT).as_deref(), Some("premade_voice"));
}
