//! At most N clones in flight upstream; a bounded queue where the rest wait a short while.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::domain::VoiceId;
use crate::ports::{CloneRequest, ClonedVoice, UpstreamError, VoiceCloner};

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

/// A [`VoiceCloner`] that lets at most `max_in_flight` clones through at once. Deletes (the
/// rollback) are never held back: freeing a slot must not queue behind new clones.
pub struct CloneLimiter {
    inner: Arc<dyn VoiceCloner>,
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
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn VoiceCloner>, settings: LimiterSettings) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(settings.max_in_flight.max(1))),
            waiting: AtomicUsize::new(0),
            settings,
        }
    }

    /// Clones waiting for a slot right now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    fn busy(&self) -> UpstreamError {
        UpstreamError::Busy(self.settings.max_wait.max(Duration::from_secs(1)))
    }
}

#[async_trait]
impl VoiceCloner for CloneLimiter {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let _slot = match Arc::clone(&self.slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.settings.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(self.busy());
                }
                let _waiting = WaitingGuard(&self.waiting);
                let wait = self
                    .settings
                    .max_wait
                    .min(request.deadline.saturating_duration_since(Instant::now()));
                match tokio::time::timeout(wait, Arc::clone(&self.slots).acquire_owned()).await {
                    Ok(Ok(slot)) => slot,
                    _ => return Err(self.busy()),
                }
            }
        };
        self.inner.clone_voice(request).await
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.inner.delete_voice(voice_id, deadline).await
    }
}
