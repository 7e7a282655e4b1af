//! Port: leadership of the sweep. With several replicas on one account, only one should list
//! and delete voices at a time — two sweeps would race each other's deletes and double the
//! upstream calls — so a replica sweeps only while it holds this lease.
//!
//! Shaped for a shared store (Redis: `SET NX PX` holding the holder's id; renewing and releasing
//! compare that id in the same script). A holder that vanishes loses the lease when its time
//! runs out, so the sweep never stops for good because one replica died.

use std::time::Duration;

use async_trait::async_trait;

/// Who holds (or wants) the lease: one value per replica process, unique across replicas (a
/// random id made at start-up), so that one replica can never renew or release another's lease.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseHolder(String);

impl LeaseHolder {
    /// Wraps the id of a replica; the caller makes it unique (e.g. a random UUID per process).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The lease could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sweep lease unavailable: {0}")]
pub struct LeaseError(pub String);

/// A lease that at most one holder has at a time, for a bounded time.
#[async_trait]
pub trait SweepLease: Send + Sync + 'static {
    /// Takes the lease for `holder` for `ttl` when nobody holds it (or its holder's time ran
    /// out), or renews it for another `ttl` when `holder` holds it already. Returns whether
    /// `holder` holds it now; `false` means another holder does, and nothing changed.
    ///
    /// A holder should ask again before `ttl` runs out if its work takes longer: the lease
    /// lapses by itself, so that a replica that dies mid-sweep does not stop the sweep forever.
    ///
    /// # Errors
    /// [`LeaseError`] when the store fails; the caller must then treat the lease as not held.
    async fn try_acquire(&self, holder: &LeaseHolder, ttl: Duration) -> Result<bool, LeaseError>;

    /// Gives the lease up at once (after a sweep, or at shutdown) so another replica need not
    /// wait for it to lapse. Returns `false`, changing nothing, when `holder` does not hold it.
    ///
    /// # Errors
    /// [`LeaseError`] when the store fails (the lease then lapses by itself).
    async fn release(&self, holder: &LeaseHolder) -> Result<bool, LeaseError>;
}
