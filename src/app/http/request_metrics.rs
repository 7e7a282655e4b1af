//! Counts and times every answer, around all routes (the `431` of the header cap, the router's
//! `404`/`405` and a panic's `500` included). The error code is the one our error body left on
//! the response ([`AnsweredCode`]): every layer's error is written by that one body, and the
//! code is one of the error table's, so a label never carries text from a request. `POST
//! /webhook`, which does not go through poem (`direct_webhook.rs`), is recorded by the same
//! [`record`].

use std::time::{Duration, Instant};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::error_json::AnsweredCode;
use crate::app::metrics::{HttpMetrics, endpoint_label};

/// The `error_code` of an answer that is not an error.
const NO_ERROR: &str = "none";
/// The `error_code` of an error answer that is not our error body (none is, today).
const UNKNOWN_ERROR: &str = "unknown";

/// Records every request in the HTTP series.
pub struct RequestMetrics(pub HttpMetrics);

impl<E: Endpoint> Middleware<E> for RequestMetrics {
    type Output = RequestMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequestMetricsEndpoint {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// The endpoint [`RequestMetrics`] wraps.
pub struct RequestMetricsEndpoint<E> {
    inner: E,
    metrics: HttpMetrics,
}

impl<E: Endpoint> Endpoint for RequestMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Self::Output> {
        let endpoint = endpoint_label(request.uri().path());
        let started = Instant::now();
        let response = match self.inner.call(request).await {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        record(&self.metrics, endpoint, started.elapsed(), &response);
        Ok(response)
    }
}

/// Records `response`, the answer of `endpoint` after `took`.
pub(super) fn record(
    metrics: &HttpMetrics,
    endpoint: &'static str,
    took: Duration,
    response: &Response,
) {
    let status = response.status();
    let error_code = if status.is_client_error() || status.is_server_error() {
        response
            .extensions()
            .get::<AnsweredCode>()
            .map_or(UNKNOWN_ERROR, |AnsweredCode(code)| code.as_str())
    } else {
        NO_ERROR
    };
    metrics.record(endpoint, status.as_u16(), error_code, took);
}
