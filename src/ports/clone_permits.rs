//! Port: places among the clones allowed in flight at once. The use case takes a place before
//! it starts cloning, and the upstream deadline starts only once it has one, so time spent
//! queueing never eats into the time a clone needs.

use async_trait::async_trait;

use super::UpstreamError;

/// A place among the clones in flight; dropping it frees the place for the next waiter.
pub struct ClonePermit {
    /// Never read: holding it is what keeps the place taken.
    _hold: Box<dyn Send + Sync>,
}

impl ClonePermit {
    /// Wraps whatever keeps the place taken (a semaphore permit, say) until it is dropped.
    pub fn new(hold: impl Send + Sync + 'static) -> Self {
        Self {
            _hold: Box::new(hold),
        }
    }
}

impl std::fmt::Debug for ClonePermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClonePermit")
    }
}

/// Hands out places among the clones in flight.
#[async_trait]
pub trait ClonePermits: Send + Sync + 'static {
    /// Waits (briefly, in a bounded queue) for a place.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::Busy`] with a retry time when the queue is full or the wait
    /// runs out.
    async fn acquire(&self) -> Result<ClonePermit, UpstreamError>;
}
