//! `500 INTERNAL_ERROR`: a failure the service did not foresee. Provoked with a voice cloner
//! that panics (inside the webhook's tracked task) and with a clock that panics (on the
//! request's own path, where the signature is checked); the answer reveals nothing and the
//! process carries on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use precall_webhook::adapters::SystemClock;
use precall_webhook::domain::{ConversationId, VoiceId};
use precall_webhook::ports::{
    Clock, CloneRequest, ClonedVoice, FoundVoice, ListedVoice, UpstreamError, VoiceCloner,
};

use crate::helpers::{TestApp, assert_error, body_of, json_payload, metadata, send, wav};

struct PanickingCloner;

#[async_trait]
impl VoiceCloner for PanickingCloner {
    async fn clone_voice(&self, _: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        panic!("secret internal detail: the cloner blew up");
    }

    async fn find_voices(
        &self,
        _: &ConversationId,
        _: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        panic!("secret internal detail: the cloner blew up");
    }

    async fn list_voices(&self, _: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        panic!("secret internal detail: the cloner blew up");
    }

    async fn delete_voice(&self, _: &VoiceId, _: Instant) -> Result<(), UpstreamError> {
        panic!("secret internal detail: the cloner blew up");
    }
}

#[tokio::test]
async fn a_panic_in_a_request_is_a_500_that_reveals_nothing_and_the_service_carries_on() {
    let app = TestApp::builder()
        .cloner(Arc::new(PanickingCloner))
        .spawn()
        .await;

    let response = app
        .post_json(&body_of(&json_payload(
            "conv_panic",
            Some(&wav(5.0, 16_000)),
        )))
        .await;

    let message = assert_error(response, 500, "INTERNAL_ERROR", Some("conv_panic")).await;
    assert!(!message.contains("secret internal detail"), "{message}");
    assert!(!message.contains("panic"), "{message}");
    let next = app.post_json(&body_of(&metadata("conv_after_panic"))).await;
    assert_eq!(next.status(), 200, "the next webhook is served");
    assert_eq!(app.get("/health").await.status(), 200);
}

/// The system clock, except that reading the time panics while armed.
struct PanickingClock {
    armed: AtomicBool,
}

#[async_trait]
impl Clock for PanickingClock {
    fn now_unix(&self) -> i64 {
        assert!(
            !self.armed.load(Ordering::SeqCst),
            "secret internal detail: the clock blew up"
        );
        SystemClock.now_unix()
    }

    fn now(&self) -> Instant {
        SystemClock.now()
    }

    async fn sleep(&self, duration: Duration) {
        SystemClock.sleep(duration).await;
    }
}

#[tokio::test]
async fn a_panic_on_the_webhooks_own_path_is_a_500_that_reveals_nothing_and_the_service_carries_on()
{
    let clock = Arc::new(PanickingClock {
        armed: AtomicBool::new(false),
    });
    let app = TestApp::builder().clock(clock.clone()).spawn().await;
    let body = body_of(&metadata("conv_clock_panic"));
    let signature = app.sign(&body);
    let post = || {
        app.client
            .post(app.url("/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", signature.as_str())
            .body(body.clone())
    };

    clock.armed.store(true, Ordering::SeqCst);
    let response = send(post()).await;
    clock.armed.store(false, Ordering::SeqCst);

    let message = assert_error(response, 500, "INTERNAL_ERROR", None).await;
    assert!(!message.contains("secret internal detail"), "{message}");
    app.assert_nothing_reached_elevenlabs();
    let next = send(post()).await;
    assert_eq!(
        next.status(),
        200,
        "the same webhook is served once the bug is gone"
    );
    assert_eq!(app.get("/health").await.status(), 200);
}
