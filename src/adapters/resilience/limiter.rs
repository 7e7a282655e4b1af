//! At most N clones in flight upstream; a bounded queue where the rest wait a short while.
//! The use case takes a place before cloning and holds it through the clone and any look-up
//! after a lost answer; its upstream deadline starts only once it has the place.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::ports::{ClonePermit, ClonePermits, UpstreamError};

/// How many clones may run and wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimiterSettings {
    /// Clones in flight upstream at once (`MAX_CONCURRENT_CLONES`).
    pub max_in_flight: usize,
    /// Clones that may wait for a slot (`CLONE_QUEUE_CAPACITY`); one more is refused at once.
    pub max_waiting: usize,
    /// How long a clone may wait for a slot (`CLONE_QUEUE_TIMEOUT_SECONDS`).
    pub max_wait: Duration,
}

/// Hands out at most `max_in_flight` places at once. Deletes never need one: freeing a slot on
/// the account must not queue behind new clones.
pub struct CloneLimiter {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    settings: LimiterSettings,
}

/// Counts a waiter for as long as it waits, even if its request is cancelled meanwhile.
struct WaitingGuard<'a>(&'a AtomicUsize);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl CloneLimiter {
    /// A limiter with every place free.
    pub fn new(settings: LimiterSettings) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            waiting: AtomicUsize::new(0),
            settings,
        }
    }

    /// Clones waiting for a slot right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Clones holding a place right now (in flight upstream, or looking for a voice after a lost
    /// answer).
    pub fn in_flight(&self) -> usize {
        self.settings
            .max_in_flight
            .max(1)
            .saturating_sub(self.slots.available_permits())
    }

    fn busy(&self) -> UpstreamError {
        UpstreamError::Busy(self.settings.max_wait.max(Duration::from_secs(1)))
    }
}

#[async_trait]
impl ClonePermits for CloneLimiter {
    async fn acquire(&self) -> Result<ClonePermit, UpstreamError> {
        if let Ok(slot) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(ClonePermit::new(slot));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.settings.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(self.busy());
        }
        let _waiting = WaitingGuard(&self.waiting);
        match tokio::time::timeout(
            self.settings.max_wait,
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await
        {
            Ok(Ok(slot)) => Ok(ClonePermit::new(slot)),
            _ => Err(self.busy()),
        }
    }
}
