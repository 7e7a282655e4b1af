//! Refuses requests whose headers are too large (`431`), before any route or extractor runs.
//! hyper already bounds what it buffers; this enforces the service's own, smaller limit.

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
        let size: usize = request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if size > self.max {
            return Ok(error_response(ApiError::new(
                ErrorCode::HeadersTooLarge,
                format!("Request headers total {size} bytes (max {})", self.max),
            )));
        }
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}
