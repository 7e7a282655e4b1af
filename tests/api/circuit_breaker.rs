//! The circuit breaker: after `CIRCUIT_BREAKER_THRESHOLD` consecutive upstream failures (a
//! request that used up its retries counts once), webhooks fail fast with
//! `502 UPSTREAM_UNAVAILABLE` without reaching ElevenLabs for `CIRCUIT_BREAKER_COOLDOWN_SECONDS`;
//! then a trial request goes through, and its success closes the breaker.
//!
//! Tests that must not see the cool-down end use a long one; the one that waits it out uses a
//! short one and asserts nothing that depends on how much longer the wait took.

use std::sync::Arc;
use std::time::Duration;

use precall_webhook::ports::UpstreamError;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    TestApp, assert_error, body_of, json_payload, metadata, status_and_json, wav,
};
use crate::observed_cloner::ObservedCloner;

/// A server whose breaker opens after two failures and stays open for `cool_down` seconds, in
/// front of `cloner`.
async fn app_with_breaker(cloner: &Arc<ObservedCloner>, cool_down: &str) -> TestApp {
    // Every webhook here is Ivan ringing again; reuse is not what this test is about.
    TestApp::builder()
        .cloner(Arc::clone(cloner) as _)
        .var("VOICE_REUSE_MAX_AGE_SECONDS", "0")
        .var("CIRCUIT_BREAKER_THRESHOLD", "2")
        .var("CIRCUIT_BREAKER_COOLDOWN_SECONDS", cool_down)
        .spawn()
        .await
}

/// ElevenLabs down, as the ports report it after their retries.
fn down() -> Option<UpstreamError> {
    Some(UpstreamError::Unavailable(
        "clone voice: ElevenLabs answered 503 after 3 retries".into(),
    ))
}

/// POSTs Ivan's webhook with a sample for `conversation_id`.
async fn post_with_sample(app: &TestApp, conversation_id: &str) -> reqwest::Response {
    app.post_json(&body_of(&json_payload(
        conversation_id,
        Some(&wav(5.0, 16_000)),
    )))
    .await
}

/// Asserts `502 UPSTREAM_UNAVAILABLE` for `conversation_id`.
async fn assert_unavailable(response: reqwest::Response, conversation_id: &str) {
    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation_id)).await;
}

#[tokio::test]
async fn fails_fast_with_502_without_calling_elevenlabs_once_the_threshold_is_reached() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner, "60").await;
    cloner.stand_in.fail_clones_with(down());

    for i in 0..2 {
        let id = format!("conv_failing_{i}");
        assert_unavailable(post_with_sample(&app, &id).await, &id).await;
    }
    assert_eq!(cloner.calls(), 2, "both failures reached ElevenLabs");

    // ElevenLabs is back, but the breaker does not know yet: it fails fast for the cool-down.
    cloner.stand_in.fail_clones_with(None);
    for i in 0..3 {
        let id = format!("conv_fast_{i}");
        assert_unavailable(post_with_sample(&app, &id).await, &id).await;
    }

    assert_eq!(cloner.calls(), 2, "nothing reached ElevenLabs while open");
    assert_eq!(cloner.stand_in.clones(), vec![]);
    assert_eq!(app.agents.updates(), vec![], "no agent update either");
}

#[tokio::test]
async fn lets_a_trial_through_after_the_cool_down_and_its_success_closes_the_breaker() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner, "0.5").await;
    cloner.stand_in.fail_clones_with(down());
    for i in 0..2 {
        let id = format!("conv_before_{i}");
        assert_unavailable(post_with_sample(&app, &id).await, &id).await;
    }
    cloner.stand_in.fail_clones_with(None);

    // A real server keeps real time: wait past the half-second cool-down.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let trial = post_with_sample(&app, "conv_trial").await;

    let (status, body) = status_and_json(trial).await;
    assert_eq!(status, 200, "the trial went through: {body}");
    assert_eq!(cloner.calls(), 3);
    for i in 0..3 {
        let response = post_with_sample(&app, &format!("conv_after_{i}")).await;
        assert_eq!(response.status(), 200, "closed again");
    }
    assert_eq!(cloner.calls(), 6, "every request reaches ElevenLabs again");
    assert_eq!(app.agents.updates().len(), 4);
}

#[tokio::test]
async fn counts_only_consecutive_failures_a_success_starts_the_count_again() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner, "60").await;

    cloner.stand_in.fail_clones_with(down());
    assert_unavailable(post_with_sample(&app, "conv_f1").await, "conv_f1").await;
    cloner.stand_in.fail_clones_with(None);
    assert_eq!(post_with_sample(&app, "conv_ok").await.status(), 200);
    cloner.stand_in.fail_clones_with(down());
    assert_unavailable(post_with_sample(&app, "conv_f2").await, "conv_f2").await;
    assert_eq!(
        cloner.calls(),
        3,
        "one failure in a row so far: still closed"
    );

    assert_unavailable(post_with_sample(&app, "conv_f3").await, "conv_f3").await;
    assert_eq!(
        cloner.calls(),
        4,
        "the second failure in a row still reached ElevenLabs"
    );
    assert_unavailable(post_with_sample(&app, "conv_fast").await, "conv_fast").await;
    assert_eq!(cloner.calls(), 4, "and opened the breaker");
}

#[tokio::test]
async fn a_refusal_is_an_answer_and_does_not_open_the_breaker() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner, "60").await;
    cloner
        .stand_in
        .fail_clones_with(Some(UpstreamError::Refused("voice_limit_reached".into())));

    for i in 0..4 {
        let id = format!("conv_refused_{i}");
        assert_error(
            post_with_sample(&app, &id).await,
            422,
            "VOICE_CLONING_FAILED",
            Some(&id),
        )
        .await;
    }

    assert_eq!(
        cloner.calls(),
        4,
        "ElevenLabs answered every time: never open"
    );
}

#[tokio::test]
async fn failing_agent_updates_open_the_same_breaker_that_guards_clones() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner, "60").await;
    app.agents
        .fail_updates_with(Some(UpstreamError::Unavailable(
            "update agent: ElevenLabs answered 502 after 3 retries".into(),
        )));
    // Without a sample there is no clone (and no rollback): only the agent update fails.
    for i in 0..2 {
        let id = format!("conv_agent_down_{i}");
        assert_unavailable(app.post_json(&body_of(&metadata(&id))).await, &id).await;
    }
    app.agents.fail_updates_with(None);

    assert_unavailable(
        post_with_sample(&app, "conv_clone_blocked").await,
        "conv_clone_blocked",
    )
    .await;
    assert_eq!(cloner.calls(), 0, "the clone was not even tried");
    assert_eq!(app.agents.updates(), vec![]);
}

#[tokio::test]
async fn a_webhook_that_used_up_its_retries_counts_as_one_failure() {
    let mock = MockServer::start().await;
    let agent_path = "/v1/convai/agents/agent_def456uvw";
    Mock::given(method("PATCH"))
        .and(path(agent_path))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"detail": "service unavailable"})),
        )
        .mount(&mock)
        .await;
    let app = TestApp::builder()
        .elevenlabs(&mock)
        .var("ELEVENLABS_MAX_RETRIES", "2")
        .var("CIRCUIT_BREAKER_THRESHOLD", "2")
        .var("CIRCUIT_BREAKER_COOLDOWN_SECONDS", "60")
        .spawn()
        .await;
    let patches = || async {
        mock.received_requests()
            .await
            .expect("the mock records requests")
            .iter()
            .filter(|r| r.method.as_str() == "PATCH" && r.url.path() == agent_path)
            .count()
    };

    assert_unavailable(
        app.post_json(&body_of(&metadata("conv_retried_1"))).await,
        "conv_retried_1",
    )
    .await;
    assert_eq!(patches().await, 3, "one attempt and two retries");

    // Three failed attempts, one failure: the breaker is still closed.
    assert_unavailable(
        app.post_json(&body_of(&metadata("conv_retried_2"))).await,
        "conv_retried_2",
    )
    .await;
    assert_eq!(patches().await, 6, "the second webhook reached ElevenLabs");

    assert_unavailable(
        app.post_json(&body_of(&metadata("conv_fast"))).await,
        "conv_fast",
    )
    .await;
    assert_eq!(patches().await, 6, "two failed webhooks opened it");
}
