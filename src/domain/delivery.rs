//! Deliver once: a redelivered webhook is answered with the first success instead of cloning
//! again; identical deliveries racing each other share one clone; the same conversation with a
//! different body is a conflict. The memory of it lives behind the [`DeliveryLedger`] port.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CallOutcome, ConversationId, Fingerprint, PreCallEvent};
use crate::ports::{Claim, DeliveryLedger, LedgerError};

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
    settings: DeliverySettings,
}

impl Deliveries {
    /// Builds it.
    pub fn new(ledger: Arc<dyn DeliveryLedger>, settings: DeliverySettings) -> Self {
        Self { ledger, settings }
    }

    /// Claims the event's conversation, waiting for an identical delivery in flight.
    ///
    /// # Errors
    /// [`DeliveryError`]: a conflict, a wait that ran out, or a failing ledger.
    pub async fn begin(&self, event: &PreCallEvent) -> Result<Delivery, DeliveryError> {
        let id = &event.conversation_id;
        let fingerprint = event.fingerprint();
        let give_up = Instant::now() + self.settings.max_wait;
        loop {
            match self
                .ledger
                .claim(id, fingerprint, self.settings.lease)
                .await?
            {
                Claim::Claimed => {
                    return Ok(Delivery::First(DeliveryTicket {
                        conversation_id: id.clone(),
                        fingerprint,
                    }));
                }
                Claim::Completed(outcome) => return Ok(Delivery::Replay(outcome)),
                Claim::Conflict => return Err(DeliveryError::Conflict(id.clone())),
                Claim::InFlight => {
                    let left = give_up.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(DeliveryError::StillInFlight(id.clone()));
                    }
                    tracing::info!("an identical delivery is in flight; waiting for its outcome");
                    self.ledger.wait_settled(id, left).await;
                }
            }
        }
    }

    /// Records how a claimed delivery ended: a success is remembered for redeliveries, a
    /// failure is forgotten so that a retry can succeed. A ledger failure here is logged, not
    /// returned: the caller's answer is already decided.
    pub async fn finish(&self, ticket: DeliveryTicket, outcome: Option<&CallOutcome>) {
        let result = match outcome {
            Some(outcome) => {
                self.ledger
                    .complete(&ticket.conversation_id, ticket.fingerprint, outcome)
                    .await
            }
            None => {
                self.ledger
                    .release(&ticket.conversation_id, ticket.fingerprint)
                    .await
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, "could not record the delivery's outcome");
        }
    }
}
