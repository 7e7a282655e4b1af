//! Deliver once: a redelivered webhook never clones twice. A redelivery within the retention
//! window is answered with the first success and `Idempotent-Replayed: true`; identical
//! deliveries racing each other share one clone; failures are forgotten so a retry can succeed;
//! the same conversation with another body is `409 DUPLICATE_CONVERSATION`. The fingerprint is
//! the event, not its encoding or its signature.

use std::sync::Arc;
use std::time::Duration;

use precall_webhook::ports::UpstreamError;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_error, assert_ivan_personalised, body_of, json_payload, metadata, spawn_app,
    spawn_app_with, status_and_json, wav,
};
use crate::observed_cloner::ObservedCloner;

/// Whether `response` says it is the stored answer of an earlier delivery.
fn is_replayed(response: &reqwest::Response) -> bool {
    match response.headers().get("Idempotent-Replayed") {
        None => false,
        Some(value) => {
            assert_eq!(value, "true", "Idempotent-Replayed is `true` or absent");
            true
        }
    }
}

/// The status, whether it was replayed, and the JSON body of `response`.
async fn read(response: reqwest::Response) -> (StatusCode, bool, Value) {
    let replayed = is_replayed(&response);
    let (status, body) = status_and_json(response).await;
    (status, replayed, body)
}

/// `body` without `processing_time_ms`, which is measured anew for every answer.
fn without_timing(mut body: Value) -> Value {
    body.as_object_mut()
        .expect("a JSON object")
        .remove("processing_time_ms");
    body
}

/// Not a timing assertion: a guard so that a request that waits forever fails the test
/// instead of hanging it.
async fn guarded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the service answered within 60 s")
}

#[tokio::test]
async fn answers_a_redelivery_with_the_first_success_and_calls_nothing_upstream() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let body = body_of(&json_payload("conv_redelivered", Some(&sample)));

    let first = app.post_json(&body).await;
    assert!(!is_replayed(&first), "the first answer is not a replay");
    let first = assert_ivan_personalised(&app, first, "conv_redelivered", &sample).await;

    let (status, replayed, second) = read(app.post_json(&body).await).await;

    assert_eq!(status, 200, "{second}");
    assert!(replayed, "Idempotent-Replayed: true");
    assert_eq!(second["voice_id"], first["voice_id"], "the same voice");
    assert_eq!(without_timing(second), without_timing(first));
    assert_eq!(app.cloner.clones().len(), 1, "no second clone");
    assert_eq!(app.agents.updates().len(), 1, "no second agent update");
    assert_eq!(app.cloner.deleted(), vec![]);
}

#[tokio::test]
async fn answers_every_further_redelivery_with_the_same_first_success() {
    let app = spawn_app().await;
    let body = body_of(&json_payload("conv_thrice", Some(&wav(5.0, 16_000))));

    let (_, _, first) = read(app.post_json(&body).await).await;
    for _ in 0..3 {
        let (status, replayed, again) = read(app.post_json(&body).await).await;
        assert_eq!(status, 200, "{again}");
        assert!(replayed);
        assert_eq!(without_timing(again), without_timing(first.clone()));
    }

    assert_eq!(app.cloner.clones().len(), 1);
    assert_eq!(app.agents.updates().len(), 1);
}

#[tokio::test]
async fn replays_a_delivery_without_a_sample_without_updating_the_agent_again() {
    let app = spawn_app().await;
    let body = body_of(&metadata("conv_no_sample_twice"));

    let (_, _, first) = read(app.post_json(&body).await).await;
    let (status, replayed, second) = read(app.post_json(&body).await).await;

    assert_eq!(status, 200, "{second}");
    assert!(replayed);
    assert_eq!(second["voice_id"], Value::Null);
    assert_eq!(without_timing(second), without_timing(first));
    assert_eq!(app.agents.updates().len(), 1, "the greeting was set once");
}

#[tokio::test]
async fn a_redelivery_signed_at_another_time_is_a_replay() {
    let app = spawn_app().await;
    let body = body_of(&json_payload("conv_resigned", Some(&wav(5.0, 16_000))));
    let (_, _, first) = read(app.post_json(&body).await).await;

    // ElevenLabs signs each attempt anew: same bytes, another `t=`.
    let signature = app.secret.sign(app.now() - 120, &body);
    let response = app
        .post_raw(
            &[
                ("content-type", "application/json"),
                ("elevenlabs-signature", &signature),
            ],
            body,
        )
        .await;

    let (status, replayed, second) = read(response).await;
    assert_eq!(status, 200, "{second}");
    assert!(
        replayed,
        "a new signature timestamp does not make a new event"
    );
    assert_eq!(second["voice_id"], first["voice_id"]);
    assert_eq!(app.cloner.clones().len(), 1);
}

#[tokio::test]
async fn a_redelivery_with_another_event_timestamp_and_audio_claims_is_a_replay() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let mut payload = json_payload("conv_new_claims", Some(&sample));
    let (_, _, first) = read(app.post_json(&body_of(&payload)).await).await;

    payload["event_timestamp"] = json!(1_702_425_999);
    payload["voice_sample"]["duration_seconds"] = json!(4.9);
    payload["voice_sample"]["sample_rate"] = json!(44_100);
    let (status, replayed, second) = read(app.post_json(&body_of(&payload)).await).await;

    assert_eq!(status, 200, "{second}");
    assert!(
        replayed,
        "only the event's content counts, not the sender's claims"
    );
    assert_eq!(second["voice_id"], first["voice_id"]);
    assert_eq!(app.cloner.clones().len(), 1);
}

#[tokio::test]
async fn the_same_event_sent_as_json_and_then_as_multipart_is_a_replay_not_a_conflict() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let (_, _, first) = read(
        app.post_json(&body_of(&json_payload(
            "conv_json_then_form",
            Some(&sample),
        )))
        .await,
    )
    .await;

    let (status, replayed, second) = read(
        app.post_multipart(&metadata("conv_json_then_form"), Some(&sample))
            .await,
    )
    .await;

    assert_eq!(status, 200, "{second}");
    assert!(replayed, "the encoding is not part of the event");
    assert_eq!(second["voice_id"], first["voice_id"]);
    assert_eq!(app.cloner.clones().len(), 1);
    assert_eq!(app.agents.updates().len(), 1);
}

#[tokio::test]
async fn the_same_event_sent_as_multipart_and_then_as_json_is_a_replay_not_a_conflict() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let (_, _, first) = read(
        app.post_multipart(&metadata("conv_form_then_json"), Some(&sample))
            .await,
    )
    .await;

    let (status, replayed, second) = read(
        app.post_json(&body_of(&json_payload(
            "conv_form_then_json",
            Some(&sample),
        )))
        .await,
    )
    .await;

    assert_eq!(status, 200, "{second}");
    assert!(replayed);
    assert_eq!(second["voice_id"], first["voice_id"]);
    assert_eq!(app.cloner.clones().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_deliveries_racing_the_first_share_its_one_clone() {
    let cloner = ObservedCloner::new();
    cloner.close_gate();
    let app = Arc::new(TestApp::builder().cloner(cloner.clone()).spawn().await);
    let body = body_of(&json_payload("conv_racing", Some(&wav(5.0, 16_000))));
    let send = |app: &Arc<TestApp>| {
        let (app, body) = (Arc::clone(app), body.clone());
        tokio::spawn(async move { read(app.post_json(&body).await).await })
    };

    let first = send(&app);
    cloner.wait_for_in_flight(1).await;
    let racing: Vec<_> = (0..4).map(|_| send(&app)).collect();
    // Give the racing deliveries a moment to reach the service; while the first clone is held,
    // none of them may be answered (they wait for its outcome) or reach the platform.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        racing.iter().all(|r| !r.is_finished()),
        "identical deliveries wait while the first is in flight"
    );
    assert_eq!(cloner.calls(), 1, "only the first reached the platform");
    cloner.open_gate();

    let (status, replayed, first) = guarded(first).await.unwrap();
    assert_eq!(status, 200, "{first}");
    assert!(!replayed, "the first delivery did the work");
    for answer in racing {
        let (status, replayed, answer) = guarded(answer).await.unwrap();
        assert_eq!(status, 200, "{answer}");
        assert!(replayed, "a racing delivery gets the first's outcome");
        assert_eq!(without_timing(answer), without_timing(first.clone()));
    }
    assert_eq!(cloner.calls(), 1, "one clone for all of them");
    assert_eq!(cloner.stand_in.clones().len(), 1);
    assert_eq!(app.agents.updates().len(), 1);
}

#[tokio::test]
async fn forgets_a_failed_delivery_so_that_a_retry_can_succeed() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let body = body_of(&json_payload("conv_retry_after_failure", Some(&sample)));
    app.cloner.fail_clones_with(Some(UpstreamError::Refused(
        "voice_limit_reached: all voice slots are taken".into(),
    )));
    assert_error(
        app.post_json(&body).await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_retry_after_failure"),
    )
    .await;

    app.cloner.fail_clones_with(None);
    let retry = app.post_json(&body).await;

    assert!(!is_replayed(&retry), "a failure is not replayed");
    assert_ivan_personalised(&app, retry, "conv_retry_after_failure", &sample).await;
}

#[tokio::test]
async fn forgets_a_delivery_whose_agent_update_failed_so_that_a_retry_can_succeed() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let body = body_of(&json_payload("conv_retry_agent", Some(&sample)));
    app.agents
        .fail_updates_with(Some(UpstreamError::Unavailable(
            "ElevenLabs answered 503".into(),
        )));
    assert_error(
        app.post_json(&body).await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_retry_agent"),
    )
    .await;

    app.agents.fail_updates_with(None);
    let (status, replayed, answer) = read(app.post_json(&body).await).await;

    assert_eq!(status, 200, "{answer}");
    assert!(!replayed);
    assert_eq!(answer["agent_updated"], true);
    let clones = app.cloner.clones();
    assert_eq!(
        clones.len(),
        2,
        "the retry cloned again (the first voice was rolled back)"
    );
    assert_eq!(app.cloner.deleted(), vec![clones[0].voice_id.clone()]);
    assert_eq!(answer["voice_id"], clones[1].voice_id.as_str());
}

#[tokio::test]
async fn refuses_the_same_conversation_with_another_body_with_409_duplicate_conversation() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let first = app
        .post_json(&body_of(&json_payload("conv_reused", Some(&sample))))
        .await;
    assert_eq!(first.status(), 200);

    for changed in [
        {
            let mut p = json_payload("conv_reused", Some(&sample));
            p["caller_metadata"]["name"] = json!("Ivo");
            p
        },
        {
            let mut p = json_payload("conv_reused", Some(&sample));
            p["agent_id"] = json!("agent_other");
            p
        },
        json_payload("conv_reused", Some(&wav(6.0, 16_000))),
        json_payload("conv_reused", None),
    ] {
        let response = app.post_json(&body_of(&changed)).await;
        assert!(!is_replayed(&response));
        assert_error(response, 409, "DUPLICATE_CONVERSATION", Some("conv_reused")).await;
    }

    assert_eq!(app.cloner.clones().len(), 1, "nothing more was cloned");
    assert_eq!(app.agents.updates().len(), 1, "nothing more was updated");
}

#[tokio::test]
async fn refuses_another_body_for_a_conversation_whose_first_delivery_is_still_in_flight() {
    let cloner = ObservedCloner::new();
    cloner.close_gate();
    let app = Arc::new(TestApp::builder().cloner(cloner.clone()).spawn().await);
    let sample = wav(5.0, 16_000);
    let first = {
        let app = Arc::clone(&app);
        let body = body_of(&json_payload("conv_in_flight_reused", Some(&sample)));
        tokio::spawn(async move { app.post_json(&body).await.status() })
    };
    cloner.wait_for_in_flight(1).await;

    let mut other = json_payload("conv_in_flight_reused", Some(&sample));
    other["caller_metadata"]["name"] = json!("Ivo");
    // Answered while the first clone is still held: a conflict does not wait.
    let response = guarded(app.post_json(&body_of(&other))).await;
    assert_error(
        response,
        409,
        "DUPLICATE_CONVERSATION",
        Some("conv_in_flight_reused"),
    )
    .await;

    cloner.open_gate();
    assert_eq!(guarded(first).await.unwrap(), 200);
    assert_eq!(cloner.calls(), 1);
}

#[tokio::test]
async fn remembers_the_latest_idempotency_max_entries_conversations_and_forgets_older_ones() {
    let app = spawn_app_with(&[("IDEMPOTENCY_MAX_ENTRIES", "100")]).await;
    let body = |i: usize| body_of(&metadata(&format!("conv_bounded_{i:03}")));
    for i in 0..=100 {
        assert_eq!(app.post_json(&body(i)).await.status(), 200);
    }
    assert_eq!(app.agents.updates().len(), 101);

    // The 100 latest (1..=100) are remembered; only the oldest (0) was pushed out.
    let oldest_remembered = app.post_json(&body(1)).await;
    assert_eq!(oldest_remembered.status(), 200);
    assert!(
        is_replayed(&oldest_remembered),
        "IDEMPOTENCY_MAX_ENTRIES=100 remembers 100 conversations"
    );
    let latest = app.post_json(&body(100)).await;
    assert!(is_replayed(&latest));
    assert_eq!(app.agents.updates().len(), 101, "replays touch nothing");

    let forgotten = app.post_json(&body(0)).await;
    assert_eq!(forgotten.status(), 200);
    assert!(!is_replayed(&forgotten), "the oldest was forgotten");
    assert_eq!(app.agents.updates().len(), 102, "handled anew");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_a_remembered_conversation_even_while_the_ledger_is_full_and_another_is_in_flight()
{
    let cloner = ObservedCloner::new();
    let app = Arc::new(
        TestApp::builder()
            .cloner(cloner.clone())
            .var("IDEMPOTENCY_MAX_ENTRIES", "100")
            .var("VOICE_REUSE_MAX_AGE_SECONDS", "0")
            .spawn()
            .await,
    );
    let sample = wav(3.5, 8_000);
    let body = |i: usize| body_of(&json_payload(&format!("conv_full_{i:03}"), Some(&sample)));
    for i in 0..100 {
        assert_eq!(app.post_json(&body(i)).await.status(), 200);
    }
    let remembered = app.post_json(&body(1)).await;
    assert!(is_replayed(&remembered), "conv_full_001 is remembered");

    cloner.close_gate();
    let other = {
        let (app, body) = (
            Arc::clone(&app),
            body_of(&json_payload("conv_other", Some(&sample))),
        );
        tokio::spawn(async move { app.post_json(&body).await.status() })
    };
    cloner.wait_for_in_flight(1).await;
    let mut again = {
        let (app, body) = (Arc::clone(&app), body(1));
        tokio::spawn(async move { app.post_json(&body).await })
    };

    // Either the redelivery is answered from memory, or it is cloned again: its clone then
    // waits at the closed gate as the second one in flight.
    let replayed = tokio::select! {
        answer = &mut again => is_replayed(&answer.unwrap()),
        () = cloner.wait_for_in_flight(2) => false,
    };
    cloner.open_gate();
    assert!(
        replayed,
        "a remembered conversation is not cloned again because another delivery is in flight"
    );
    assert_eq!(guarded(other).await.unwrap(), 200);
    assert_eq!(
        cloner.calls(),
        101,
        "100 conversations and the other one, each cloned once"
    );
}
