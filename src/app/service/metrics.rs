//! `GET /metrics`: the exposition, with the live clones counted by the voice registry at scrape
//! time. The registry is the one source of truth for them (and, shared between replicas, the
//! same for all): counting them here beats keeping a second count in step with every path that
//! registers or takes a clone.

use std::sync::Arc;
use std::time::Duration;

use crate::app::metrics::Metrics;
use crate::ports::VoiceRegistry;

/// The longest a scrape waits for the registry's count; without it in time the `live_clones`
/// series is left out of that scrape.
pub const LIVE_CLONES_TIMEOUT: Duration = Duration::from_millis(500);

/// Why no exposition could be made.
#[derive(Debug, thiserror::Error)]
#[error("the metrics could not be encoded")]
pub struct ScrapeError;

/// Builds the exposition for a scrape.
pub struct MetricsService {
    /// Every series.
    pub metrics: Arc<Metrics>,
    /// Counts the live clones.
    pub registry: Arc<dyn VoiceRegistry>,
}

impl MetricsService {
    /// The exposition in the Prometheus text format.
    ///
    /// # Errors
    /// [`ScrapeError`] when it cannot be encoded (a bug, logged).
    pub async fn scrape(&self) -> Result<String, ScrapeError> {
        let live_clones =
            match tokio::time::timeout(LIVE_CLONES_TIMEOUT, self.registry.count()).await {
                Ok(Ok(count)) => Some(count),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot count the live clones; left out of this scrape");
                    None
                }
                Err(_) => {
                    tracing::warn!("counting the live clones timed out; left out of this scrape");
                    None
                }
            };
        self.metrics.encode(live_clones).map_err(|error| {
            tracing::error!(%error, "cannot encode the metrics");
            ScrapeError
        })
    }
}
