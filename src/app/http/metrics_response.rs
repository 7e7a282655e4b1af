//! Responses of `GET /metrics`, as the OpenAPI spec documents them.

use poem_openapi::ApiResponse;
use poem_openapi::payload::PlainText;

use super::error_json::ErrorJson;

/// Responses of `GET /metrics`.
#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Every series in the Prometheus text exposition format, version 0.0.4 (one `# HELP` and
    /// one `# TYPE` line per metric, then its samples; counters end in `_total`, latencies are
    /// histograms in seconds). Labels carry no caller data and no ids.
    #[oai(
        status = 200,
        content_type = "text/plain; version=0.0.4; charset=utf-8"
    )]
    Ok(PlainText<String>),
    /// `INTERNAL_ERROR`: the metrics could not be encoded.
    #[oai(status = 500)]
    Internal(ErrorJson),
}
