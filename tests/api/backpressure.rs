//! At most `MAX_CONCURRENT_CLONES` clones in flight upstream. The rest wait in a bounded queue
//! (`CLONE_QUEUE_CAPACITY`) for at most `CLONE_QUEUE_TIMEOUT_SECONDS`, then get `503 BUSY` with a
//! `Retry-After` in whole seconds; with the queue full, `503` comes at once.
//!
//! Clones are held in flight with [`ObservedCloner`]'s gate, so "in flight" is a state the test
//! sets up rather than a race against a timer.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::helpers::{TestApp, assert_error_body, body_of, json_payload, status_and_json, wav};
use crate::observed_cloner::ObservedCloner;

/// What a test keeps of an answer.
#[derive(Debug)]
struct Answer {
    conversation_id: String,
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

/// A server with these limits in front of `cloner`.
async fn app_limited_to(cloner: &Arc<ObservedCloner>, vars: &[(&str, &str)]) -> Arc<TestApp> {
    // Every webhook here is Ivan ringing again; reuse is not what this test is about.
    let builder = vars.iter().fold(
        TestApp::builder()
            .cloner(Arc::clone(cloner) as _)
            .var("VOICE_REUSE_MAX_AGE_SECONDS", "0"),
        |builder, (k, v)| builder.var(k, v),
    );
    Arc::new(builder.spawn().await)
}

/// A short sample, so that many webhooks at once stay cheap.
fn short_sample() -> Vec<u8> {
    wav(3.5, 8_000)
}

/// Sends Ivan's webhook for `conversation_id` on a task of its own.
fn send(app: &Arc<TestApp>, conversation_id: &str) -> tokio::task::JoinHandle<Answer> {
    let app = Arc::clone(app);
    let conversation_id = conversation_id.to_owned();
    tokio::spawn(async move {
        let body = body_of(&json_payload(&conversation_id, Some(&short_sample())));
        let response = app.post_json(&body).await;
        let retry_after = response
            .headers()
            .get("Retry-After")
            .map(|v| v.to_str().expect("a text header").to_owned());
        let (status, body) = status_and_json(response).await;
        Answer {
            conversation_id,
            status,
            retry_after,
            body,
        }
    })
}

/// Not a timing assertion: a guard so that a request that waits forever fails the test
/// instead of hanging it.
async fn guarded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the service answered within 60 s")
}

/// Asserts that `answer` is `503 BUSY` for its conversation with a `Retry-After` of whole
/// seconds, at least 1.
fn assert_busy(answer: &Answer) {
    assert_error_body(
        answer.status.as_u16(),
        &answer.body,
        503,
        "BUSY",
        Some(&answer.conversation_id),
    );
    let retry_after = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("a 503 BUSY has Retry-After: {answer:?}"));
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is whole seconds: {retry_after:?}"));
    assert!(
        seconds >= 1,
        "Retry-After: {seconds} invites an instant retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_503_busy_with_retry_after_when_no_clone_slot_frees_up_within_the_queue_timeout() {
    let cloner = ObservedCloner::new();
    cloner.close_gate();
    let app = app_limited_to(
        &cloner,
        &[
            ("MAX_CONCURRENT_CLONES", "2"),
            ("CLONE_QUEUE_CAPACITY", "64"),
            ("CLONE_QUEUE_TIMEOUT_SECONDS", "0.2"),
        ],
    )
    .await;
    let holding: Vec<_> = (0..2)
        .map(|i| send(&app, &format!("conv_holding_{i}")))
        .collect();
    cloner.wait_for_in_flight(2).await;

    let waiting: Vec<_> = (0..3)
        .map(|i| send(&app, &format!("conv_waiting_{i}")))
        .collect();
    for answer in waiting {
        assert_busy(&guarded(answer).await.unwrap());
    }

    assert_eq!(
        cloner.calls(),
        2,
        "the refused clones never reached ElevenLabs"
    );
    assert_eq!(app.agents.updates().len(), 0);
    cloner.open_gate();
    for answer in holding {
        let answer = guarded(answer).await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert_eq!(cloner.most_in_flight(), 2);
    assert_eq!(app.agents.updates().len(), 2, "only the two clones went on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_refused_as_busy_succeeds_when_retried_later() {
    let cloner = ObservedCloner::new();
    cloner.close_gate();
    let app = app_limited_to(
        &cloner,
        &[
            ("MAX_CONCURRENT_CLONES", "1"),
            ("CLONE_QUEUE_TIMEOUT_SECONDS", "0.2"),
        ],
    )
    .await;
    let holding = send(&app, "conv_holding");
    cloner.wait_for_in_flight(1).await;
    assert_busy(&guarded(send(&app, "conv_busy_then_ok")).await.unwrap());

    cloner.open_gate();
    assert_eq!(guarded(holding).await.unwrap().status, 200);
    let retry = guarded(send(&app, "conv_busy_then_ok")).await.unwrap();

    assert_eq!(retry.status, 200, "BUSY is not remembered: {retry:?}");
    assert_eq!(cloner.stand_in.clones().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lets_waiting_clones_through_as_slots_free_up_never_more_than_the_limit_at_once() {
    let cloner = ObservedCloner::new();
    // Each clone takes a while, so the queue has to drain in waves.
    cloner.stand_in.set_latency(Duration::from_millis(300));
    let app = app_limited_to(&cloner, &[("MAX_CONCURRENT_CLONES", "2")]).await;

    let answers: Vec<_> = (0..8)
        .map(|i| send(&app, &format!("conv_wave_{i}")))
        .collect();
    for answer in answers {
        let answer = guarded(answer).await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }

    assert_eq!(cloner.calls(), 8, "every clone went through in the end");
    assert!(
        cloner.most_in_flight() <= 2,
        "MAX_CONCURRENT_CLONES=2 clones in flight at most, not {}",
        cloner.most_in_flight()
    );
    assert_eq!(app.agents.updates().len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_at_once_with_503_busy_when_the_queue_is_full() {
    let cloner = ObservedCloner::new();
    cloner.close_gate();
    // The queue timeout and the upstream deadline are far longer than the test's guard: an
    // answer that arrives while the gate is closed was refused without waiting.
    let app = app_limited_to(
        &cloner,
        &[
            ("MAX_CONCURRENT_CLONES", "2"),
            ("CLONE_QUEUE_CAPACITY", "64"),
            ("CLONE_QUEUE_TIMEOUT_SECONDS", "600"),
            ("ELEVENLABS_TIMEOUT_SECONDS", "600"),
        ],
    )
    .await;
    let holding: Vec<_> = (0..2)
        .map(|i| send(&app, &format!("conv_slot_{i}")))
        .collect();
    cloner.wait_for_in_flight(2).await;

    // 64 fit in the queue; whichever 3 come last find it full.
    let (answered, mut answers) = mpsc::unbounded_channel();
    for i in 0..64 + 3 {
        let request = send(&app, &format!("conv_queued_{i:02}"));
        let answered = answered.clone();
        tokio::spawn(async move {
            let _ = answered.send(request.await.unwrap());
        });
    }
    drop(answered);

    for _ in 0..3 {
        let answer = guarded(answers.recv()).await.expect("an answer");
        assert_busy(&answer);
    }
    assert_eq!(
        cloner.calls(),
        2,
        "nothing more reached ElevenLabs meanwhile"
    );

    cloner.open_gate();
    let mut queued_and_served = 0;
    while let Some(answer) = guarded(answers.recv()).await {
        assert_eq!(
            answer.status, 200,
            "every queued webhook is served: {answer:?}"
        );
        queued_and_served += 1;
    }
    assert_eq!(queued_and_served, 64);
    for answer in holding {
        assert_eq!(guarded(answer).await.unwrap().status, 200);
    }
    assert_eq!(cloner.calls(), 2 + 64);
    assert_eq!(cloner.most_in_flight(), 2);
}
