//! Port: which deliveries have been handled, so that a redelivered webhook never clones twice.
//!
//! Shaped for a shared store (Redis: `SET NX` with an expiry for the claim, a value holding the
//! outcome, pub/sub or polling for waiters), so several replicas can share it later.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{CallOutcome, ConversationId, Fingerprint};

/// The state of a conversation's delivery when it is claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody is handling it: the caller now owns it and must `complete` or `release` it
    /// (the claim lapses by itself after the lease, should the owner vanish).
    Claimed,
    /// An identical delivery is being handled right now.
    InFlight,
    /// An identical delivery was handled successfully: its outcome.
    Completed(CallOutcome),
    /// The conversation was delivered before with a different body.
    Conflict,
}

/// The ledger could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery ledger unavailable: {0}")]
pub struct LedgerError(pub String);

/// Remembers deliveries by conversation for a retention window.
#[async_trait]
pub trait DeliveryLedger: Send + Sync + 'static {
    /// Claims `conversation_id` for a delivery with `fingerprint`, for at most `lease`.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn claim(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        lease: Duration,
    ) -> Result<Claim, LedgerError>;

    /// Records the successful outcome of a claimed delivery; identical redeliveries within the
    /// retention window get it back.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn complete(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        outcome: &CallOutcome,
    ) -> Result<(), LedgerError>;

    /// Gives a claim up after a failure: failures are not remembered, so a retry can succeed.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn release(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
    ) -> Result<(), LedgerError>;

    /// Returns when the in-flight delivery of `conversation_id` completes or is released, or
    /// after `timeout`, whichever comes first.
    async fn wait_settled(&self, conversation_id: &ConversationId, timeout: Duration);
}
