//! When ElevenLabs refuses or fails: `422 VOICE_CLONING_FAILED`, `422 AGENT_UPDATE_FAILED` (the
//! new voice deleted again), `502 UPSTREAM_UNAVAILABLE`.

use precall_webhook::ports::UpstreamError;

use crate::helpers::{TestApp, assert_error, body_of, json_payload, metadata, spawn_app, wav};

async fn post_ivan_with_sample(app: &TestApp, conversation_id: &str) -> reqwest::Response {
    app.post_json(&body_of(&json_payload(
        conversation_id,
        Some(&wav(5.0, 16_000)),
    )))
    .await
}

#[tokio::test]
async fn a_refused_clone_is_422_with_the_platforms_reason_and_the_agent_is_left_alone() {
    let app = spawn_app().await;
    app.cloner.fail_clones_with(Some(UpstreamError::Refused(
        "voice_limit_reached: the account has no free voice slots".into(),
    )));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_refused").await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_refused"),
    )
    .await;

    assert_eq!(
        message,
        "Voice cloning failed: voice_limit_reached: the account has no free voice slots"
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn a_sample_the_platform_rejects_is_422_voice_cloning_failed() {
    let app = spawn_app().await;
    app.cloner
        .fail_clones_with(Some(UpstreamError::InvalidRequest(
            "invalid_audio: the sample contains no speech".into(),
        )));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_no_speech").await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_no_speech"),
    )
    .await;

    assert!(
        message.contains("the sample contains no speech"),
        "{message}"
    );
    assert_eq!(app.agents.updates(), vec![]);
}

#[tokio::test]
async fn a_refused_agent_update_is_422_and_the_new_voice_is_deleted_once() {
    let app = spawn_app().await;
    app.agents
        .fail_updates_with(Some(UpstreamError::InvalidRequest(
            "agent_not_found: no agent agent_def456uvw".into(),
        )));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_no_agent").await,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_no_agent"),
    )
    .await;

    assert_eq!(
        message,
        "Agent update failed: agent_not_found: no agent agent_def456uvw"
    );
    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 1);
    assert_eq!(app.cloner.deleted(), vec![clones[0].voice_id.clone()]);
    assert_eq!(app.agents.updates(), vec![]);
}

#[tokio::test]
async fn a_refused_greeting_update_without_a_sample_deletes_nothing() {
    let app = spawn_app().await;
    app.agents.fail_updates_with(Some(UpstreamError::Refused(
        "missing_permissions: convai_write".into(),
    )));

    let response = app
        .post_json(&body_of(&metadata("conv_greeting_only")))
        .await;

    assert_error(
        response,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_greeting_only"),
    )
    .await;
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn a_failed_rollback_still_answers_agent_update_failed() {
    let app = spawn_app().await;
    app.agents
        .fail_updates_with(Some(UpstreamError::InvalidRequest(
            "invalid first_message".into(),
        )));
    app.cloner
        .fail_deletes_with(Some(UpstreamError::Unavailable("connection reset".into())));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_orphan").await,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_orphan"),
    )
    .await;

    assert_eq!(message, "Agent update failed: invalid first_message");
    assert_eq!(app.cloner.clones().len(), 1, "the voice was created");
    assert_eq!(
        app.cloner.deleted(),
        vec![],
        "and could not be deleted (logged as an orphan)"
    );
}

#[tokio::test]
async fn an_unreachable_platform_during_the_clone_is_502() {
    let app = spawn_app().await;
    app.cloner.fail_clones_with(Some(UpstreamError::Unavailable(
        "ElevenLabs did not answer within 30 s".into(),
    )));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_down").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_down"),
    )
    .await;

    assert!(message.contains("did not answer"), "{message}");
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn an_unreachable_platform_during_the_agent_update_is_502_and_the_voice_is_rolled_back() {
    let app = spawn_app().await;
    app.agents
        .fail_updates_with(Some(UpstreamError::Unavailable(
            "503 Service Unavailable".into(),
        )));

    let message = assert_error(
        post_ivan_with_sample(&app, "conv_agent_down").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_agent_down"),
    )
    .await;

    assert!(message.contains("503 Service Unavailable"), "{message}");
    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 1);
    assert_eq!(app.cloner.deleted(), vec![clones[0].voice_id.clone()]);
}

#[tokio::test]
async fn serves_again_once_the_platform_recovers() {
    let app = spawn_app().await;
    app.cloner.fail_clones_with(Some(UpstreamError::Unavailable(
        "connection refused".into(),
    )));
    assert_eq!(
        post_ivan_with_sample(&app, "conv_first").await.status(),
        502
    );

    app.cloner.fail_clones_with(None);

    assert_eq!(
        post_ivan_with_sample(&app, "conv_second").await.status(),
        200
    );
    assert_eq!(app.cloner.clones().len(), 1);
    assert_eq!(app.agents.updates().len(), 1);
}
