//! `GET /ready`: whether this replica can take traffic — its stores answer. `/health` stays
//! liveness only: a replica whose Redis is away is alive (and recovers by itself), just not
//! ready.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use super::error_json::ErrorJson;
use super::errors::ApiError;

/// The replica can take traffic.
#[derive(Debug, Object)]
pub struct Ready {
    /// Always `ready`.
    pub status: String,
    /// `memory` (one replica, nothing shared) or `redis` (`REDIS_URL`).
    pub store: String,
}

/// Responses of `GET /ready`.
#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The stores answer.
    #[oai(status = 200)]
    Ready(Json<Ready>),
    /// `STORE_UNAVAILABLE`: the shared store (Redis) does not answer; take this replica out of
    /// the load balancer until it does (it reconnects by itself).
    #[oai(status = 503)]
    NotReady(
        ErrorJson,
        /// Seconds before asking again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl ReadyResponse {
    /// Ready, with the kind of store.
    pub fn ready(shared: bool) -> Self {
        Self::Ready(Json(Ready {
            status: "ready".into(),
            store: if shared { "redis" } else { "memory" }.into(),
        }))
    }

    /// Not ready, because of `cause` (logged, not sent).
    pub fn not_ready(cause: &dyn std::fmt::Display) -> Self {
        let error = ApiError::store_unavailable(cause);
        let retry_after = error.retry_after.map_or(1, |d| d.as_secs().max(1));
        Self::NotReady(error.body(), retry_after)
    }
}
