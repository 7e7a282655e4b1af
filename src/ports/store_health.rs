//! Port: whether the shared store can be reached right now, for readiness (`GET /ready`). A
//! replica that cannot reach it is alive but must not be sent traffic.

use async_trait::async_trait;

/// The store did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store unreachable: {0}")]
pub struct StoreUnreachable(pub String);

/// Asks the shared store whether it is there.
#[async_trait]
pub trait StoreHealth: Send + Sync + 'static {
    /// Returns once the store has answered a trivial command.
    ///
    /// # Errors
    /// [`StoreUnreachable`] when it does not answer (refused, timed out, an error reply).
    async fn ping(&self) -> Result<(), StoreUnreachable>;
}
