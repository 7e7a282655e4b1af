//! Reuse (SPEC "Voice lifecycle" 1): a caller who rings again within
//! `VOICE_REUSE_MAX_AGE_SECONDS` gets their existing clone — no clone call, no add/edit spent —
//! with or without a new sample, and the agent is personalised with it.

use serde_json::{Value, json};

use crate::fake_elevenlabs::{FakeElevenLabs, Route};
use crate::helpers::{
    PHONE_NUMBER, TestApp, body_of, fixture, json_payload, metadata, spawn_against_fake, spawn_app,
    spawn_app_with, status_and_json, wav,
};

async fn post(app: &TestApp, payload: &Value) -> Value {
    let (status, body) = status_and_json(app.post_json(&body_of(payload)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Ivan's webhook for `conversation_id` from `phone`, with a 5 s sample.
fn ivan_from(conversation_id: &str, phone: Option<&str>) -> Value {
    let mut payload = json_payload(conversation_id, Some(&wav(5.0, 16_000)));
    payload["caller_metadata"]["phone_number"] = phone.map_or(Value::Null, Value::from);
    payload
}

#[tokio::test]
async fn a_repeat_caller_gets_their_clone_again_without_a_clone_call() {
    let app = spawn_app().await;
    let first = post(&app, &ivan_from("conv_first", Some(PHONE_NUMBER))).await;
    // The same number written another way is the same caller.
    let again = post(&app, &ivan_from("conv_again", Some("+31 6 1234 5678"))).await;

    assert_eq!(first["voice_reused"], false);
    assert_eq!(again["voice_reused"], true);
    assert_eq!(again["voice_id"], first["voice_id"]);
    assert_eq!(again["voice_name"], first["voice_name"]);
    assert_eq!(app.cloner.clones().len(), 1, "one clone for two calls");
    let updates = app.agents.updates();
    assert_eq!(updates.len(), 2, "the agent is personalised for both calls");
    assert_eq!(
        updates[1].update.voice_id.as_ref().map(|v| v.as_str()),
        first["voice_id"].as_str()
    );
    assert_eq!(
        updates[1].update.first_message.as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
}

#[tokio::test]
async fn a_repeat_caller_without_a_new_sample_still_gets_their_clone() {
    let app = spawn_app().await;
    let first = post(&app, &ivan_from("conv_first", Some(PHONE_NUMBER))).await;

    let again = post(&app, &metadata("conv_no_sample")).await;

    assert_eq!(again["voice_reused"], true);
    assert_eq!(again["voice_id"], first["voice_id"]);
    assert_eq!(app.cloner.clones().len(), 1);
}

#[tokio::test]
async fn another_caller_a_caller_without_a_number_and_reuse_turned_off_each_get_a_new_clone() {
    let app = spawn_app().await;
    post(&app, &ivan_from("conv_a", Some(PHONE_NUMBER))).await;
    let other = post(&app, &ivan_from("conv_b", Some("+31698765432"))).await;
    let anonymous = post(&app, &ivan_from("conv_c", None)).await;
    let anonymous_again = post(&app, &ivan_from("conv_d", None)).await;
    for body in [&other, &anonymous, &anonymous_again] {
        assert_eq!(body["voice_reused"], false, "{body}");
    }
    assert_eq!(app.cloner.clones().len(), 4);

    let off = spawn_app_with(&[("VOICE_REUSE_MAX_AGE_SECONDS", "0")]).await;
    post(&off, &ivan_from("conv_e", Some(PHONE_NUMBER))).await;
    let again = post(&off, &ivan_from("conv_f", Some(PHONE_NUMBER))).await;
    assert_eq!(again["voice_reused"], false);
    assert_eq!(off.cloner.clones().len(), 2);
}

#[tokio::test]
async fn a_failed_agent_update_never_deletes_the_callers_reused_clone() {
    let app = spawn_app().await;
    let first = post(&app, &ivan_from("conv_first", Some(PHONE_NUMBER))).await;
    app.agents
        .fail_updates_with(Some(precall_webhook::ports::UpstreamError::InvalidRequest(
            "agent_not_found".into(),
        )));

    let (status, _) = status_and_json(
        app.post_json(&body_of(&ivan_from("conv_fails", Some(PHONE_NUMBER))))
            .await,
    )
    .await;

    assert_eq!(status, 422);
    assert_eq!(app.cloner.deleted(), vec![], "the clone stays the caller's");
    assert_eq!(
        app.cloner
            .live_voices()
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>(),
        [first["voice_id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn on_the_account_a_repeat_caller_spends_no_add_edit_and_the_agent_speaks_with_their_clone() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_def456uvw", "premade_voice", "Hello!");
    let app = spawn_against_fake(&fake, &[]).await;
    let sample = fixture("voice_5s.wav");

    let first = post(&app, &json_payload("conv_monday", Some(&sample))).await;
    let again = post(&app, &json_payload("conv_tuesday", Some(&sample))).await;

    assert_eq!(again["voice_reused"], true);
    assert_eq!(again["voice_id"], first["voice_id"]);
    assert_eq!(fake.request_count(Route::AddVoice), 1);
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(
        fake.agent_voice_id("agent_def456uvw").map(Value::from),
        Some(json!(first["voice_id"]))
    );
}
