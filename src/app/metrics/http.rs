//! The HTTP series: requests by endpoint and outcome, and their latency by endpoint. The path
//! is reduced to a fixed set of endpoints, so a scan of random paths cannot grow the series.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::adapters::metered::latency_histogram;

/// The `endpoint` label of a request path: one of the service's routes, or `other` (the
/// spec, the Swagger UI, and every unknown path).
pub fn endpoint_label(path: &str) -> &'static str {
    match path {
        "/webhook" => "/webhook",
        "/webhook/post-call" => "/webhook/post-call",
        "/webhook/conversation-initiation" => "/webhook/conversation-initiation",
        "/health" => "/health",
        "/ready" => "/ready",
        "/metrics" => "/metrics",
        _ => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    status: u16,
    error_code: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

/// The HTTP series. Cheap to clone: clones share the series.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<EndpointLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    /// Creates the series and registers them: `http_requests_total{endpoint,status,error_code}`
    /// and `http_request_duration_seconds{endpoint}`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
        };
        registry.register(
            "http_requests",
            "Requests answered, by endpoint, HTTP status and error_code (the error body's code; \
             none for a success)",
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its answer, by endpoint",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        metrics
    }

    /// Counts one answer. `endpoint` comes from [`endpoint_label`]; `error_code` is `none` or
    /// one of the error table's codes.
    pub fn record(
        &self,
        endpoint: &'static str,
        status: u16,
        error_code: &'static str,
        took: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                status,
                error_code,
            })
            .inc();
        self.duration
            .get_or_create(&EndpointLabels { endpoint })
            .observe(took.as_secs_f64());
    }
}
