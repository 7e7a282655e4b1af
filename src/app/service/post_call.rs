//! The application service of ElevenLabs' post-call webhook: signature (its own secret) →
//! parse → ignore what ends no call → de-duplicate → release the call's clone, the delete
//! running in the background (tracked for shutdown; a lost one is the sweep's).

use std::sync::Arc;

use tracing::Instrument;

use super::{BackgroundWork, SignedBody};
use crate::app::http::post_call_payload::{self, PostCallPayloadError};
use crate::app::metrics::{DeletionReason, LifecycleMetrics};
use crate::domain::{
    PostCallKind, Release, ReleaseAfterCall, Retired, Retirement, SignatureError, WebhookSecret,
};
use crate::ports::{Clock, EventKey, EventStoreError, RegistryError, SeenEvents};

/// What a post-call event came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostCallOutcome {
    /// The clone served that conversation alone; it is being retired.
    Released,
    /// A caller's clone, kept for reuse.
    Kept,
    /// No clone of ours served the call.
    None,
    /// An event that ends no call.
    Ignored,
    /// Handled already.
    Duplicate,
}

/// Why a post-call webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum PostCallError {
    /// The signature does not hold.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// Not a post-call event.
    #[error(transparent)]
    Payload(#[from] PostCallPayloadError),
    /// A store failed; ElevenLabs retries (5xx), and the sweep covers what is never retried.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The seen-events store failed.
    #[error(transparent)]
    Events(#[from] EventStoreError),
}

/// Everything the service works with.
pub struct PostCallService {
    /// Verifies `elevenlabs-signature` (`ELEVENLABS_POST_CALL_SECRET`).
    pub secret: WebhookSecret,
    /// The clock the signature window is measured against.
    pub clock: Arc<dyn Clock>,
    /// Events handled already.
    pub seen: Arc<dyn SeenEvents>,
    /// Finds the call's clone and ends its call.
    pub release: ReleaseAfterCall,
    /// Deletes a released clone (agent put back first).
    pub retirement: Arc<Retirement>,
    /// Where the deletes run, tracked for shutdown.
    pub background: BackgroundWork,
    /// Where deletions after a call are counted.
    pub metrics: LifecycleMetrics,
}

impl PostCallService {
    /// Handles one post-call webhook.
    ///
    /// # Errors
    /// A [`PostCallError`], mapped to the error table at the edge.
    pub async fn handle(&self, request: SignedBody) -> Result<PostCallOutcome, PostCallError> {
        self.secret.verify(
            request.signature.as_deref(),
            &request.body,
            self.clock.now_unix(),
        )?;
        let event = post_call_payload::parse(&request.body)?;
        let span = tracing::Span::current();
        span.record("conversation_id", event.conversation.as_str());
        if !PostCallKind::of(&event.event_type).ends_a_call() {
            tracing::info!(event_type = %event.event_type, "post-call event ignored");
            return Ok(PostCallOutcome::Ignored);
        }
        let key = EventKey::new(
            &event.event_type,
            &event.conversation,
            &event.event_timestamp,
        );
        if !self.seen.first_delivery(&key).await? {
            tracing::info!(event_type = %event.event_type, "post-call event handled already");
            return Ok(PostCallOutcome::Duplicate);
        }
        Ok(match self.release.release(&event.ended).await? {
            Release::Retire(voice_id) => {
                tracing::info!(%voice_id, "call ended; releasing its clone");
                let retirement = Arc::clone(&self.retirement);
                let metrics = self.metrics.clone();
                self.background.spawn(
                    async move {
                        let retired = retirement.retire(&voice_id).await;
                        if retired == Retired::Deleted {
                            metrics.deleted(DeletionReason::AfterCall, 1);
                            tracing::info!(%voice_id, reason = "after_call", "clone deleted after its call");
                        } else {
                            tracing::warn!(%voice_id, ?retired, "clone not deleted after its call; the sweep will look again");
                        }
                    }
                    .instrument(span),
                );
                PostCallOutcome::Released
            }
            Release::Kept(voice_id) => {
                tracing::info!(%voice_id, "call ended; the caller's clone is kept for reuse");
                PostCallOutcome::Kept
            }
            Release::None => PostCallOutcome::None,
        })
    }
}
