//! `500 INTERNAL_ERROR`: a failure the service did not foresee. Provoked with a voice cloner
//! that panics; the answer reveals nothing and the process carries on.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use precall_webhook::domain::{ConversationId, VoiceId};
use precall_webhook::ports::{
    CloneRequest, ClonedVoice, FoundVoice, ListedVoice, UpstreamError, VoiceCloner,
};

use crate::helpers::{TestApp, assert_error, body_of, json_payload, metadata, wav};

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
