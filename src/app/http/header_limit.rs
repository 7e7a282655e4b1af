//! Refuses requests whose headers are too large (`431`), before any route or extractor runs.
//! hyper already bounds what it buffers; this enforces the service's own, smaller limit.

use poem::http::HeaderMap;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::{ApiError, ErrorCode, error_response};

/// Largest total of header names and values, bytes.
pub struct HeaderLimit(pub usize);

impl<E: Endpoint> Middleware<E> for HeaderLimit {
    type Output = HeaderLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HeaderLimitEndpoint { inner, max: self.0 }
    }
}

/// The endpoint [`HeaderLimit`] wraps.
pub struct HeaderLimitEndpoint<E> {
    inner: E,
    max: usize,
}

impl<E: Endpoint> Endpoint for HeaderLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> Result<Self::Output> {
        if let Some(refusal) = refuse_oversized(request.headers(), self.max) {
            return Ok(refusal);
        }
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}

/// The `431` for `headers` when their names and values total more than `max` bytes.
pub(super) fn refuse_oversized(headers: &HeaderMap, max: usize) -> Option<Response> {
    let size: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (size > max).then(|| {
        error_response(ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!("Request headers total {size} bytes (max {max})"),
        ))
    })
}
