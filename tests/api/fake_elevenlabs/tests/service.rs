//! The real service and its real ElevenLabs client against the fake: proof that what our
//! client sends passes the fake's strict checks, and a first use of the account invariant
//! ("at most the voice its agent got") that the lifecycle issues build on.

use std::time::Duration;

use crate::fake_elevenlabs::{Answer, FakeElevenLabs, Fault, Route};
use crate::helpers::{
    TestApp, body_of, fixture, json_payload, spawn_against_fake, status_and_json,
};

/// The agent of the default payload.
const AGENT_ID: &str = "agent_def456uvw";

/// Posts Ivan's webhook with the 5-second WAV, guarded so a hanging service fails the test.
async fn post_ivan(
    app: &TestApp,
    conversation_id: &str,
) -> (reqwest::StatusCode, serde_json::Value) {
    let payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    let response = tokio::time::timeout(Duration::from_secs(60), app.post_json(&body_of(&payload)))
        .await
        .expect("the service answered within 60 s");
    status_and_json(response).await
}

#[tokio::test]
async fn a_webhook_against_the_fake_leaves_exactly_the_voice_its_agent_got() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT_ID, "premade_voice", "Hello!");
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, body) = post_ivan(&app, "conv_fake_happy").await;

    assert_eq!(status, 200, "{body}");
    let voice = fake
        .assert_only_the_agents_voice_for("conv_fake_happy", AGENT_ID)
        .expect("a voice");
    assert_eq!(body["voice_id"], voice.voice_id.as_str());
    assert_eq!(body["voice_name"], voice.name.as_str());
    assert_eq!(voice.label("source"), Some("precall-webhook"));
    assert_eq!(voice.samples.len(), 1);
    assert_eq!(voice.samples[0].size_bytes, fixture("voice_5s.wav").len());
    assert_eq!(
        fake.agent_first_message(AGENT_ID).as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
    fake.assert_every_request_succeeded();
}

#[tokio::test]
async fn a_refused_agent_update_leaves_no_voice_on_the_account() {
    let fake = FakeElevenLabs::start().await;
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, body) = post_ivan(&app, "conv_fake_no_agent").await;

    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error_code"], "AGENT_UPDATE_FAILED", "{body}");
    assert_eq!(
        fake.assert_only_the_agents_voice_for("conv_fake_no_agent", AGENT_ID),
        None
    );
    assert_eq!(fake.voice_count(), 0);
    assert_eq!(
        fake.subscription().voice_add_edit_counter,
        1,
        "the clone was spent"
    );
}

#[tokio::test]
async fn a_clone_created_then_answered_503_is_found_on_the_account_and_adopted() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT_ID, "premade_voice", "Hello!");
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::status(503)));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, body) = post_ivan(&app, "conv_fake_503").await;

    assert_eq!(status, 200, "{body}");
    let voice = fake
        .assert_only_the_agents_voice_for("conv_fake_503", AGENT_ID)
        .expect("the voice created before the 503");
    assert_eq!(body["voice_id"], voice.voice_id.as_str());
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
}

#[tokio::test]
async fn a_clone_created_then_never_answered_is_found_on_the_account_and_adopted() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT_ID, "premade_voice", "Hello!");
    fake.on(Route::AddVoice).next(Fault::act_then(Answer::Hang));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "0.5")]).await;

    let (status, body) = post_ivan(&app, "conv_fake_hang").await;

    assert_eq!(status, 200, "{body}");
    let voice = fake
        .assert_only_the_agents_voice_for("conv_fake_hang", AGENT_ID)
        .expect("the voice created before the silence");
    assert_eq!(body["voice_id"], voice.voice_id.as_str());
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
}
