//! Deliver once: a redelivered webhook is answered with the first success instead of cloning
//! again; identical deliveries racing each other share one clone; the same conversation with a
//! different body is a conflict. The memory of it lives behind the [`DeliveryLedger`] port;
//! every claim carries a token, so only its owner can settle it.

use std::sync::Arc;
use std::time::Duration;

use super::{CallOutcome, ConversationId, Fingerprint, PreCallEvent};
use crate::ports::{Claim, ClaimToken, Clock, DeliveryLedger, LedgerError};

/// Timings of the deliver-once rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// How long a claim holds if its owner vanishes without completing or releasing it
    /// (longer than any webhook can take).
    pub lease: Duration,
    /// How long an identical delivery waits for the one in flight before giving up.
    pub max_wait: Duration,
}

/// How a delivery is to be handled.
#[derive(Debug)]
pub enum Delivery {
    /// The first (or a retry after a failure): handle it, then [`Deliveries::finish`] it.
    First(DeliveryTicket),
    /// Already handled: answer with this outcome, touch nothing upstream.
    Replay(CallOutcome),
}

/// Proof of a claim; hand it back to [`Deliveries::finish`].
#[derive(Debug)]
pub struct DeliveryTicket {
    conversation_id: ConversationId,
    fingerprint: Fingerprint,
    token: ClaimToken,
    uncertain: bool,
}

impl DeliveryTicket {
    /// Whether an earlier delivery of this conversation may have left a voice on the platform
    /// (its clone's answer was lost, or its owner vanished): look for it before cloning.
    pub fn voice_may_exist(&self) -> bool {
        self.uncertain
    }

    /// The fingerprint the conversation was claimed with (computed once: it hashes the sample).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

/// How a claimed delivery ended.
#[derive(Debug, Clone, Copy)]
pub enum Settlement<'a> {
    /// It succeeded: remember the outcome for redeliveries.
    Completed(&'a CallOutcome),
    /// It failed: forget it so a retry can succeed, passing on whether a voice it asked for
    /// may still exist on the platform.
    Failed {
        /// A voice may exist: the next delivery must look for it first.
        voice_may_exist: bool,
    },
}

/// Why a delivery cannot be handled now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The conversation was delivered before with a different body.
    #[error("conversation_id {0} was already delivered with a different body")]
    Conflict(ConversationId),
    /// An identical delivery is still being handled after the wait.
    #[error("an identical delivery of conversation {0} is still being handled; retry shortly")]
    StillInFlight(ConversationId),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// The deliver-once rule over a ledger.
pub struct Deliveries {
    ledger: Arc<dyn DeliveryLedger>,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
}

impl Deliveries {
    /// Builds it.
    pub fn new(
        ledger: Arc<dyn DeliveryLedger>,
        clock: Arc<dyn Clock>,
        settings: DeliverySettings,
    ) -> Self {
        Self {
            ledger,
            clock,
            settings,
        }
    }

    /// Claims the event's conversation, waiting for an identical delivery in flight. A claim
    /// that conflicts is tried once more under the event's
    /// [`legacy_fingerprint`](PreCallEvent::legacy_fingerprint), which an earlier version may
    /// have left in the ledger.
    ///
    /// # Errors
    /// [`DeliveryError`]: a conflict, a wait that ran out, or a failing ledger.
    pub async fn begin(&self, event: &PreCallEvent) -> Result<Delivery, DeliveryError> {
        let id = &event.conversation_id;
        let mut fingerprint = event.fingerprint();
        let mut legacy_tried = false;
        let give_up = self.clock.now() + self.settings.max_wait;
        loop {
            match self.claim(id, fingerprint).await? {
                Claim::Claimed { token, uncertain } => {
                    return Ok(Delivery::First(DeliveryTicket {
                        conversation_id: id.clone(),
                        fingerprint,
                        token,
                        uncertain,
                    }));
                }
                Claim::Completed(outcome) => return Ok(Delivery::Replay(outcome)),
                // Perhaps the same event, fingerprinted by an earlier version: from then on it
                // is claimed (and settled) under the fingerprint the ledger holds.
                Claim::Conflict if !legacy_tried => {
                    legacy_tried = true;
                    fingerprint = event.legacy_fingerprint();
                }
                Claim::Conflict => return Err(DeliveryError::Conflict(id.clone())),
                Claim::InFlight => {
                    let left = give_up.saturating_duration_since(self.clock.now());
                    if left.is_zero() {
                        return Err(DeliveryError::StillInFlight(id.clone()));
                    }
                    tracing::info!("an identical delivery is in flight; waiting for its outcome");
                    self.ledger.wait_settled(id, left).await;
                }
            }
        }
    }

    /// Claims a conversation for clean-up work, without waiting: `None` when a delivery holds
    /// it or has completed it (then that delivery owns whatever voice exists).
    ///
    /// # Errors
    /// [`DeliveryError::Ledger`] when the ledger fails.
    pub async fn claim_for_cleanup(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
    ) -> Result<Option<DeliveryTicket>, DeliveryError> {
        Ok(match self.claim(conversation_id, fingerprint).await? {
            Claim::Claimed { token, uncertain } => Some(DeliveryTicket {
                conversation_id: conversation_id.clone(),
                fingerprint,
                token,
                uncertain,
            }),
            Claim::InFlight | Claim::Completed(_) | Claim::Conflict => None,
        })
    }

    async fn claim(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
    ) -> Result<Claim, LedgerError> {
        self.ledger
            .claim(conversation_id, fingerprint, self.settings.lease)
            .await
    }

    /// Records how a claimed delivery ended. A ledger failure here is logged, not returned:
    /// the caller's answer is already decided. A claim that lapsed and was taken over is left
    /// to its new owner.
    pub async fn finish(&self, ticket: DeliveryTicket, settlement: Settlement<'_>) {
        let id = &ticket.conversation_id;
        let result = match settlement {
            Settlement::Completed(outcome) => {
                self.ledger.complete(id, &ticket.token, outcome).await
            }
            Settlement::Failed { voice_may_exist } => {
                self.ledger
                    .release(id, &ticket.token, voice_may_exist)
                    .await
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "this delivery's claim lapsed and another took it over; its outcome is not recorded"
            ),
            Err(error) => tracing::error!(%error, "could not record the delivery's outcome"),
        }
    }
}
