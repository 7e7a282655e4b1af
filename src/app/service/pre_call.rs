//! The application service of the pre-call webhook: signature → parse → deliver once → probe
//! on the blocking pool → personalise (in a tracked task of its own) → settle the delivery,
//! and the clean-up when a failed delivery may have left a voice. HTTP handlers hand it the raw
//! request and convert what it returns; later webhooks and the sweep share its pieces.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt;
use tracing::Instrument;

use super::BackgroundWork;
use crate::app::http::payload::{self, PayloadRejection};
use crate::app::metrics::{DeletionReason, LifecycleMetrics};
use crate::domain::{
    CallOutcome, Cleanup, CleanupOutcome, CleanupTarget, ConversationId, Deliveries, Delivery,
    DeliveryError, Failure, PersonaliseCall, PersonaliseError, Personalised, PreCallEvent,
    PreparedCall, Rollback, Settlement, SignatureError, WebhookSecret,
};
use crate::ports::Clock;

/// A webhook as it arrived: the signature header and the exact body bytes.
#[derive(Debug, Clone)]
pub struct SignedBody {
    /// The `elevenlabs-signature` header, if sent.
    pub signature: Option<String>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The raw body, unparsed.
    pub body: Bytes,
}

/// The pre-call event of a webhook whose signature holds; only [`PreCallService::accept`]
/// makes one, so nothing unsigned reaches [`PreCallService::handle`].
#[derive(Debug)]
pub struct VerifiedEvent(PreCallEvent);

impl VerifiedEvent {
    /// The conversation the event is about.
    pub fn conversation_id(&self) -> &ConversationId {
        &self.0.conversation_id
    }
}

/// A handled webhook.
#[derive(Debug, Clone)]
pub struct Handled {
    /// What was done.
    pub outcome: CallOutcome,
    /// The answer is the stored outcome of an earlier identical delivery.
    pub replayed: bool,
}

/// Why a pre-call webhook was not handled.
#[derive(Debug, thiserror::Error)]
pub enum PreCallError {
    /// The signature does not hold.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The body is not a valid pre-call event.
    #[error("{}", .0.error)]
    Payload(PayloadRejection),
    /// Deliver-once refused it (conflict, still in flight, ledger down).
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The call could not be personalised.
    #[error(transparent)]
    Personalise(#[from] PersonaliseError),
    /// A bug: a panic or a lost task. Details are in the log.
    #[error("internal error")]
    Internal,
}

/// A [`PreCallError`] with the conversation it concerns, when known.
#[derive(Debug)]
pub struct PreCallFailure {
    /// What went wrong.
    pub error: PreCallError,
    /// The conversation, once the body was read that far.
    pub conversation_id: Option<ConversationId>,
}

/// Everything the service works with.
pub struct PreCallService {
    /// Verifies `elevenlabs-signature`.
    pub secret: WebhookSecret,
    /// The clock the signature window is measured against.
    pub clock: Arc<dyn Clock>,
    /// The deliver-once rule.
    pub deliveries: Arc<Deliveries>,
    /// The use case.
    pub use_case: Arc<PersonaliseCall>,
    /// The clean-up after failures that may leave a voice.
    pub cleanup: Arc<Cleanup>,
    /// Where the upstream work and clean-ups run, tracked for shutdown.
    pub background: BackgroundWork,
    /// Where reuses, evictions, rollbacks and clean-ups are counted.
    pub metrics: LifecycleMetrics,
}

impl PreCallService {
    /// Checks the signature of `request` over its exact bytes, before anything else looks at
    /// them, then reads the pre-call event out of it.
    ///
    /// # Errors
    /// A [`PreCallFailure`] with [`PreCallError::Signature`], or with [`PreCallError::Payload`]
    /// and the conversation when the body got that far.
    pub fn accept(&self, request: SignedBody) -> Result<VerifiedEvent, PreCallFailure> {
        self.secret
            .verify(
                request.signature.as_deref(),
                &request.body,
                self.clock.now_unix(),
            )
            .map_err(|e| PreCallFailure {
                error: e.into(),
                conversation_id: None,
            })?;
        payload::parse(request.content_type.as_deref(), request.body)
            .map(VerifiedEvent)
            .map_err(|rejection| PreCallFailure {
                conversation_id: rejection.conversation_id.clone(),
                error: PreCallError::Payload(rejection),
            })
    }

    /// Handles one signed, parsed webhook, in the request's span (the current one).
    ///
    /// # Errors
    /// A [`PreCallFailure`] for every refusal and failure, mapped to the error table at the edge.
    pub async fn handle(
        self: &Arc<Self>,
        VerifiedEvent(event): VerifiedEvent,
    ) -> Result<Handled, PreCallFailure> {
        let conversation_id = event.conversation_id.clone();
        tracing::debug!(
            agent_id = %event.agent_id,
            has_sample = event.sample.is_some(),
            sample_bytes = event.sample.as_ref().map(|s| s.bytes.len()),
            "webhook received"
        );
        // The rest runs in a tracked task of its own: a sender that hangs up must not cancel a
        // clone half-way (that is how orphan voices are made), a panic stays inside that task,
        // and a shutdown waits for it.
        let service = Arc::clone(self);
        let task = self.background.spawn(
            async move { service.deliver(event).await }.instrument(tracing::Span::current()),
        );
        let result = task.await.unwrap_or_else(|join_error| {
            tracing::error!(error = %join_error, "webhook task failed");
            Err(PreCallError::Internal)
        });
        result.map_err(|error| PreCallFailure {
            error,
            conversation_id: Some(conversation_id),
        })
    }

    /// Deliver once: replay a handled conversation, otherwise personalise and settle.
    async fn deliver(self: Arc<Self>, event: PreCallEvent) -> Result<Handled, PreCallError> {
        let ticket = match self.deliveries.begin(&event).await? {
            Delivery::Replay(outcome) => {
                return Ok(Handled {
                    outcome,
                    replayed: true,
                });
            }
            Delivery::First(ticket) => ticket,
        };
        let mut target = CleanupTarget {
            conversation_id: event.conversation_id.clone(),
            agent_id: event.agent_id.clone(),
            fingerprint: ticket.fingerprint(),
            keep: None,
        };
        let had_sample = event.sample.is_some();
        let voice_may_exist = ticket.voice_may_exist();
        match self.personalise(event, voice_may_exist).await {
            Ok(personalised) => {
                self.metrics
                    .deleted(DeletionReason::Evicted, personalised.evictions.into());
                if personalised.outcome.voice_reused {
                    self.metrics.reused();
                }
                let outcome = personalised.outcome;
                self.deliveries
                    .finish(ticket, Settlement::Completed(&outcome))
                    .await;
                if personalised.late_duplicates_possible {
                    target.keep = outcome.voice.as_ref().map(|v| v.voice_id.clone());
                    self.clean_up_later(target);
                }
                Ok(Handled {
                    outcome,
                    replayed: false,
                })
            }
            Err(stopped) => {
                let (error, voice_may_remain) = match stopped {
                    Stopped::Failed(failure) => {
                        self.count_deletions(&failure);
                        (
                            PreCallError::Personalise(failure.error),
                            failure.voice_may_remain,
                        )
                    }
                    // A bug mid-way: assume the worst about a clone that may have been sent.
                    Stopped::Panicked => (PreCallError::Internal, had_sample),
                };
                self.deliveries
                    .finish(
                        ticket,
                        Settlement::Failed {
                            voice_may_exist: voice_may_remain,
                        },
                    )
                    .await;
                if voice_may_remain {
                    self.clean_up_later(target);
                }
                Err(error)
            }
        }
    }

    /// Counts the voices a failed personalisation deleted on its way: the clones it evicted,
    /// and its own clone when it was rolled back.
    fn count_deletions(&self, failure: &Failure) {
        self.metrics
            .deleted(DeletionReason::Evicted, failure.evictions.into());
        if let PersonaliseError::AgentUpdateFailed {
            rollback: Rollback::Deleted(_),
            ..
        } = failure.error
        {
            self.metrics.deleted(DeletionReason::Rollback, 1);
        }
    }

    /// The webhook is answered at once; the voice a lost answer may have left is looked for and
    /// deleted in the background (see [`Cleanup`]).
    fn clean_up_later(&self, target: CleanupTarget) {
        let cleanup = Arc::clone(&self.cleanup);
        let metrics = self.metrics.clone();
        self.background.spawn(
            async move {
                let outcome = cleanup.run(&target).await;
                if let CleanupOutcome::Deleted(n) = outcome {
                    metrics.deleted(
                        DeletionReason::Cleanup,
                        u64::try_from(n).unwrap_or(u64::MAX),
                    );
                }
                tracing::info!(?outcome, "clean-up after a failed delivery finished");
            }
            .instrument(tracing::Span::current()),
        );
    }

    async fn personalise(
        &self,
        event: PreCallEvent,
        voice_may_exist: bool,
    ) -> Result<Personalised, Stopped> {
        let prepared = self
            .prepare(event)
            .await?
            .map_err(|error| Stopped::Failed(error.into()))?;
        if let Some(sample) = prepared.sample() {
            tracing::debug!(
                format = %sample.format(),
                duration_seconds = sample.duration_seconds(),
                sample_rate = sample.sample_rate(),
                "voice sample accepted"
            );
        }
        // A panic here must still let the delivery be settled, so it is caught rather than
        // left to end the task.
        match AssertUnwindSafe(self.use_case.execute(prepared, voice_may_exist))
            .catch_unwind()
            .await
        {
            Ok(result) => result.map_err(Stopped::Failed),
            Err(_) => {
                tracing::error!("personalising the call panicked");
                Err(Stopped::Panicked)
            }
        }
    }

    /// Measures the sample and decides names and greeting. Audio probing is CPU work: it runs
    /// on the blocking pool, not on an async worker — unless the use case says it is quick (a
    /// WAV with a small header: tens of microseconds, less than the two thread wake-ups of the
    /// hand-over cost), then it runs here. A panic either way is `Stopped::Panicked`.
    async fn prepare(
        &self,
        event: PreCallEvent,
    ) -> Result<Result<PreparedCall, PersonaliseError>, Stopped> {
        let use_case = Arc::clone(&self.use_case);
        let panicked = |what: &dyn std::fmt::Display| {
            tracing::error!(error = %what, "sample check failed");
            Stopped::Panicked
        };
        if use_case.prepares_quickly(&event) {
            return std::panic::catch_unwind(AssertUnwindSafe(|| use_case.prepare(event)))
                .map_err(|_| panicked(&"panicked"));
        }
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            use_case.prepare(event)
        })
        .await
        .map_err(|join_error| panicked(&join_error))
    }
}

/// How personalising ended when it did not succeed.
enum Stopped {
    Failed(crate::domain::Failure),
    Panicked,
}
