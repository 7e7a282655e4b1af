//! Port: the current time, and waiting, injected so that signature windows, voice names,
//! deadlines and back-off are testable (on paused time, or at a fixed instant).

use std::time::{Duration, Instant};

use async_trait::async_trait;

/// A source of the current time, wall-clock and monotonic.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch, UTC (signature windows, voice names, registry times).
    fn now_unix(&self) -> i64;

    /// The monotonic now that deadlines are measured against.
    fn now(&self) -> Instant;

    /// Returns once `duration` has passed on this clock.
    async fn sleep(&self, duration: Duration);
}
