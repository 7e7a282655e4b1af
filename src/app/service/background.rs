//! Work that outlives the request that started it: the upstream work of an accepted webhook
//! (spawned so that a sender hanging up cannot cancel a clone half-way) and the clean-up after
//! a failed delivery. All of it is tracked, so a shutdown can wait for it within the grace
//! period instead of orphaning voices.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

/// Tracks spawned work until it finishes.
#[derive(Clone, Default)]
pub struct BackgroundWork {
    tracker: TaskTracker,
}

impl BackgroundWork {
    /// Nothing tracked yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Spawns `work` and tracks it until it finishes.
    pub fn spawn<F>(&self, work: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(work)
    }

    /// Tasks still running.
    pub fn running(&self) -> usize {
        self.tracker.len()
    }

    /// Waits for everything tracked to finish, for at most `within`; `true` when it did. Work
    /// spawned after this is still tracked (a webhook accepted just before the shutdown).
    pub async fn drain(&self, within: Duration) -> bool {
        self.tracker.close();
        tokio::time::timeout(within, self.tracker.wait())
            .await
            .is_ok()
    }
}
