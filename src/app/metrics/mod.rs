//! The service's metrics, exposed at `GET /metrics` in the Prometheus text format (0.0.4). One
//! registry, built once at start-up (see [`Metrics::new`]) and read-only after that; each part
//! of the service gets the handle of its own series:
//!
//! - the HTTP middleware: requests by endpoint and outcome, and their latency (`http`);
//! - the metered ports, under the circuit breaker: calls to ElevenLabs (`adapters::metered`);
//! - the application services, from what the use cases return: reuses and deletions
//!   (`lifecycle`);
//! - read at scrape time: the breaker's state and the clone queue (`resilience`), and the live
//!   clones, counted by the voice registry (`app::service::MetricsService`).
//!
//! Every label takes its values from a fixed set: no conversation, call, agent or voice id, no
//! phone number or name.

mod http;
mod lifecycle;
mod resilience;

use std::sync::Arc;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use http::{HttpMetrics, endpoint_label};
pub use lifecycle::{DeletionReason, LifecycleMetrics};

use crate::adapters::metered::{MeteredAgentConfigurator, MeteredVoiceCloner, UpstreamMetrics};
use crate::adapters::resilience::{CircuitBreaker, CloneLimiter};
use crate::ports::{AgentConfigurator, VoiceCloner};

/// The prefix of every series.
pub const PREFIX: &str = "precall";

/// The `Content-Type` of `GET /metrics`: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The registry and the handles recorded into. Shared behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    http: HttpMetrics,
    lifecycle: LifecycleMetrics,
    upstream: UpstreamMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Builds the registry with every series, the breaker's state and the clone queue read from
    /// `breaker` and `permits` at each scrape.
    pub fn new(breaker: &Arc<CircuitBreaker>, permits: &Arc<CloneLimiter>) -> Arc<Self> {
        let mut registry = Registry::with_prefix(PREFIX);
        let http = HttpMetrics::register(&mut registry);
        let lifecycle = LifecycleMetrics::register(&mut registry);
        let upstream = UpstreamMetrics::register(&mut registry);
        resilience::register(&mut registry, Arc::clone(breaker), Arc::clone(permits));
        Arc::new(Self {
            registry,
            http,
            lifecycle,
            upstream,
        })
    }

    /// `cloner` with its calls counted and timed (wrap the backend itself, under the breaker).
    pub fn meter_cloner(&self, cloner: Arc<dyn VoiceCloner>) -> Arc<dyn VoiceCloner> {
        Arc::new(MeteredVoiceCloner::new(cloner, self.upstream.clone()))
    }

    /// `agents` with its calls counted and timed (wrap the backend itself, under the breaker).
    pub fn meter_agents(&self, agents: Arc<dyn AgentConfigurator>) -> Arc<dyn AgentConfigurator> {
        Arc::new(MeteredAgentConfigurator::new(agents, self.upstream.clone()))
    }

    /// The series of the HTTP middleware.
    pub fn http(&self) -> HttpMetrics {
        self.http.clone()
    }

    /// The series the application services record what the use cases did in.
    pub fn lifecycle(&self) -> LifecycleMetrics {
        self.lifecycle.clone()
    }

    /// The exposition: every series, plus `live_clones` when the count is known (a registry
    /// that could not be read in time leaves the series out of this scrape rather than repeat
    /// a stale number).
    ///
    /// # Errors
    /// When a series cannot be written (a bug: writing to a `String` does not fail).
    pub fn encode(&self, live_clones: Option<usize>) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        if let Some(count) = live_clones {
            // A registry of its own for a value read at scrape time; the text format (unlike
            // OpenMetrics) has no end marker, so the two concatenate.
            let mut scraped = Registry::with_prefix(PREFIX);
            let gauge = Gauge::<i64>::default();
            gauge.set(i64::try_from(count).unwrap_or(i64::MAX));
            scraped.register(
                "live_clones",
                "Clones of ours the voice registry holds (live or in a call), read at scrape time",
                gauge,
            );
            prometheus_text::encode(&mut text, &scraped)?;
        }
        Ok(text)
    }
}
