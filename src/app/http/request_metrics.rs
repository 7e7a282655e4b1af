//! Counts and times every answer, around all routes (the `431` of the header cap, the router's
//! `404`/`405` and a panic's `500` included). The error code is read back from our own error
//! body, the one place every layer's error ends up in, and kept only when it is one of the
//! error table's codes: a label never carries text from a request. `POST /webhook`, which does
//! not go through poem (`direct_webhook.rs`), is recorded by the same [`record`].

use std::borrow::Cow;
use std::time::{Duration, Instant};

use poem::http::header::CONTENT_TYPE;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::types::ParseFromParameter;
use serde::Deserialize;

use super::ErrorCode;
use crate::app::metrics::{HttpMetrics, endpoint_label};

/// The `error_code` of an answer that is not an error.
const NO_ERROR: &str = "none";
/// The `error_code` of an error whose body is not our error shape.
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
        let mut response = match self.inner.call(request).await {
            Ok(response) => response.into_response(),
            Err(error) => error.into_response(),
        };
        record(&self.metrics, endpoint, started.elapsed(), &mut response).await;
        Ok(response)
    }
}

/// Records `response`, the answer of `endpoint` after `took`.
pub(super) async fn record(
    metrics: &HttpMetrics,
    endpoint: &'static str,
    took: Duration,
    response: &mut Response,
) {
    let status = response.status();
    let error_code = if status.is_client_error() || status.is_server_error() {
        error_code(response).await
    } else {
        NO_ERROR
    };
    metrics.record(endpoint, status.as_u16(), error_code, took);
}

/// The `error_code` of an error answer, read from its body (our error bodies are small JSON
/// held in memory); the body is put back as it was.
async fn error_code(response: &mut Response) -> &'static str {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return UNKNOWN_ERROR;
    }
    let bytes = match response.take_body().into_bytes().await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "cannot read an error answer's body to count it");
            return UNKNOWN_ERROR;
        }
    };
    let code = serde_json::from_slice::<ErrorCodeField<'_>>(&bytes)
        .ok()
        .and_then(|body| ErrorCode::parse_from_parameter(&body.error_code?).ok())
        .map_or(UNKNOWN_ERROR, ErrorCode::as_str);
    response.set_body(bytes);
    code
}

/// The one field of an error body the middleware reads; the rest is skipped, not built.
#[derive(Deserialize)]
struct ErrorCodeField<'a> {
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
}
