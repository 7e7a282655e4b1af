//! Port: which deliveries have been handled, so that a redelivered webhook never clones twice.
//!
//! Shaped for a shared store (Redis: a claim is one atomic `SET NX` with an expiry holding a
//! random token; completing or releasing compares that token in the same script), so several
//! replicas can share it.

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{CallOutcome, ConversationId, Fingerprint};

/// Proof that the holder owns a claim. Made by the ledger, unguessable and unique per claim:
/// an owner whose lease lapsed can never complete or release the claim of whoever took over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// Wraps a token the ledger made (random, never reused).
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The state of a conversation's delivery when it is claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody is handling it: the caller now owns it and must `complete` or `release` it with
    /// `token` (the claim lapses by itself after the lease, should the owner vanish).
    Claimed {
        /// Proof of ownership.
        token: ClaimToken,
        /// An earlier delivery of this conversation ended (or vanished) while a voice it asked
        /// for may exist on the platform: look for it before cloning again.
        uncertain: bool,
    },
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
    /// Claims `conversation_id` for a delivery with `fingerprint`, for at most `lease`. A claim
    /// whose lease ran out is taken over (and reported `uncertain`: its owner may have been
    /// cloning); a released one is claimable by any body.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn claim(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        lease: Duration,
    ) -> Result<Claim, LedgerError>;

    /// Records the successful outcome of the claim `token` owns; identical redeliveries within
    /// the retention window get it back. Returns `false`, changing nothing, when `token` no
    /// longer owns the claim.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn complete(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        outcome: &CallOutcome,
    ) -> Result<bool, LedgerError>;

    /// Gives up the claim `token` owns after a failure: failures are not remembered, so a
    /// retry can succeed — except `uncertain`, which the next claim is told (a voice may
    /// exist). Returns `false`, changing nothing, when `token` no longer owns the claim.
    ///
    /// # Errors
    /// [`LedgerError`] when the store fails.
    async fn release(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        uncertain: bool,
    ) -> Result<bool, LedgerError>;

    /// Returns when the in-flight delivery of `conversation_id` completes or is released, or
    /// after `timeout`, whichever comes first.
    async fn wait_settled(&self, conversation_id: &ConversationId, timeout: Duration);
}
