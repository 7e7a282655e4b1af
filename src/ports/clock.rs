//! Port: the current time, injected so that signature windows and voice names are testable.

/// A source of the current unix time.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch, UTC.
    fn now_unix(&self) -> i64;
}
