//! Responses of `POST /webhook/post-call`, as the OpenAPI spec documents them.

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;

use super::error_json::ErrorJson;
use super::errors::ApiError;
use super::schema::PostCallAnswer;

/// Responses of `POST /webhook/post-call`. Anything ElevenLabs sends that is signed and JSON
/// gets a `200` (a 4xx counts towards ElevenLabs disabling the webhook).
#[derive(ApiResponse)]
pub enum PostCallResponse {
    /// The event was accepted: `action` says what it did (`released`, `kept`, `none`,
    /// `ignored`, `duplicate`). A delete runs in the background after this answer.
    #[oai(status = 200)]
    Ok(Json<PostCallAnswer>),
    /// `INVALID_PAYLOAD`: not JSON, or no string `type`.
    #[oai(status = 400)]
    BadRequest(ErrorJson),
    /// `INVALID_SIGNATURE`: checked with `ELEVENLABS_POST_CALL_SECRET`.
    #[oai(status = 401)]
    Unauthorized(ErrorJson),
    /// `REQUEST_TIMEOUT`: the body did not arrive in time.
    #[oai(status = 408)]
    RequestTimeout(ErrorJson),
    /// `PAYLOAD_TOO_LARGE`: over `POST_CALL_MAX_BODY_MB`.
    #[oai(status = 413)]
    PayloadTooLarge(ErrorJson),
    /// `HEADERS_TOO_LARGE`.
    #[oai(status = 431)]
    HeadersTooLarge(ErrorJson),
    /// `INTERNAL_ERROR`.
    #[oai(status = 500)]
    Internal(ErrorJson),
    /// `STORE_UNAVAILABLE`: the shared store (Redis) cannot be reached and nothing was done;
    /// ElevenLabs retries transcription events (with retries on), and the sweep covers the rest.
    #[oai(status = 503)]
    StoreUnavailable(
        ErrorJson,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl From<ApiError> for PostCallResponse {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        let retry_after = error.retry_after.map_or(1, |d| d.as_secs().max(1));
        let body = error.body();
        match status {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body),
            408 => Self::RequestTimeout(body),
            413 => Self::PayloadTooLarge(body),
            431 => Self::HeadersTooLarge(body),
            503 => Self::StoreUnavailable(body, retry_after),
            _ => Self::Internal(body),
        }
    }
}
