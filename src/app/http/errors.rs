//! The one place where failures of every layer become the SPEC's error table.

use poem_openapi::ApiResponse;

use super::body::BodyError;
use super::error_examples::ErrorsOf;
use super::error_json::ErrorJson;
use super::payload::PayloadRejection;
use super::schema::ErrorCode;
use super::success_json::SuccessJson;
use std::time::Duration;

use crate::app::service::{PostCallError, PreCallError, PreCallFailure};
use crate::domain::{DeliveryError, PersonaliseError, SignatureError};
use crate::ports::UpstreamError;

/// Responses of `POST /webhook`. Every error variant sends an
/// [`ErrorBody`](super::schema::ErrorBody), written by [`ErrorJson`]; its documented schema
/// (`actual_type`) narrows `error_code` to the codes of that status, with an example of each
/// (see `error_examples`).
#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// The voice was cloned (when a sample was sent) and the agent personalised. A redelivery
    /// of a handled conversation gets the first answer again, with `Idempotent-Replayed: true`
    /// and no call to ElevenLabs.
    #[oai(status = 200)]
    Ok(
        SuccessJson,
        /// `true` when this answer is the stored outcome of an earlier identical delivery.
        #[oai(header = "Idempotent-Replayed")]
        Option<String>,
    ),
    /// `INVALID_PAYLOAD` or `INVALID_VOICE_SAMPLE`: the message says which field or which check.
    #[oai(status = 400, actual_type = "ErrorsOf<400>")]
    BadRequest(ErrorJson),
    /// `INVALID_SIGNATURE`.
    #[oai(status = 401, actual_type = "ErrorsOf<401>")]
    Unauthorized(ErrorJson),
    /// `REQUEST_TIMEOUT`: the body did not arrive in time.
    #[oai(status = 408, actual_type = "ErrorsOf<408>")]
    RequestTimeout(ErrorJson),
    /// `DUPLICATE_CONVERSATION`: this `conversation_id` was already delivered with a different
    /// body (within the retention window).
    #[oai(status = 409, actual_type = "ErrorsOf<409>")]
    Conflict(ErrorJson),
    /// `PAYLOAD_TOO_LARGE`: refused while reading, before the signature is checked.
    #[oai(status = 413, actual_type = "ErrorsOf<413>")]
    PayloadTooLarge(ErrorJson),
    /// `VOICE_CLONING_FAILED` or `AGENT_UPDATE_FAILED`: ElevenLabs refused; its reason is in the
    /// message.
    #[oai(status = 422, actual_type = "ErrorsOf<422>")]
    Unprocessable(ErrorJson),
    /// `HEADERS_TOO_LARGE`: the request headers total more than `MAX_HEADER_BYTES` (16 KB by
    /// default); refused before the request is routed.
    #[oai(status = 431, actual_type = "ErrorsOf<431>")]
    HeadersTooLarge(ErrorJson),
    /// `INTERNAL_ERROR`.
    #[oai(status = 500, actual_type = "ErrorsOf<500>")]
    Internal(ErrorJson),
    /// `UPSTREAM_UNAVAILABLE`: ElevenLabs is unreachable or failing; retry later.
    #[oai(status = 502, actual_type = "ErrorsOf<502>")]
    BadGateway(ErrorJson),
    /// `BUSY`: too many clones in flight, or `STORE_UNAVAILABLE`: the shared store (Redis)
    /// cannot be reached and nothing was done; retry after `Retry-After` seconds.
    #[oai(status = 503, actual_type = "ErrorsOf<503>")]
    Busy(
        ErrorJson,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

/// When to retry after `STORE_UNAVAILABLE`: Redis restarts take seconds.
pub const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// An error on its way to the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The table row.
    pub code: ErrorCode,
    /// The sentence for the sender.
    pub message: String,
    /// The conversation, when known.
    pub conversation_id: Option<String>,
    /// For `BUSY`: when to retry.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error with no conversation known yet.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            conversation_id: None,
            retry_after: None,
        }
    }

    /// Attaches the conversation id.
    pub fn for_conversation(mut self, conversation_id: &str) -> Self {
        self.conversation_id = Some(conversation_id.to_owned());
        self
    }

    /// A 500 that reveals nothing; the cause goes to the log, not to the sender.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalError,
            "Internal error; the service log has the details",
        )
    }

    /// The code as the wire spells it (`INVALID_PAYLOAD`…), for log lines.
    pub fn code_name(&self) -> &'static str {
        self.code.as_str()
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidPayload | ErrorCode::InvalidVoiceSample => 400,
            ErrorCode::InvalidSignature | ErrorCode::Unauthorized => 401,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::DuplicateConversation => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::VoiceCloningFailed | ErrorCode::AgentUpdateFailed => 422,
            ErrorCode::InternalError => 500,
            ErrorCode::UpstreamUnavailable => 502,
            ErrorCode::Busy | ErrorCode::StoreUnavailable => 503,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
        }
    }

    /// A `503 BUSY` telling the sender when to retry.
    pub fn busy(message: impl Into<String>, retry_after: Duration) -> Self {
        let mut error = Self::new(ErrorCode::Busy, message);
        error.retry_after = Some(retry_after);
        error
    }

    /// A `503 STORE_UNAVAILABLE`: the shared store cannot be reached (the cause goes to the
    /// log). Nothing was cloned; the sender retries after [`STORE_RETRY_AFTER`].
    pub fn store_unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "the shared store cannot be reached");
        let mut error = Self::new(
            ErrorCode::StoreUnavailable,
            "The shared store cannot be reached; nothing was done, retry shortly",
        );
        error.retry_after = Some(STORE_RETRY_AFTER);
        error
    }

    /// The body of this error, as it goes on the wire.
    pub fn body(self) -> ErrorJson {
        ErrorJson::from(self)
    }
}

impl From<ApiError> for WebhookResponse {
    fn from(error: ApiError) -> Self {
        let status = error.status();
        // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
        let retry_after = error
            .retry_after
            .map_or(1, |d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .max(1);
        let body = error.body();
        match status {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body),
            408 => Self::RequestTimeout(body),
            409 => Self::Conflict(body),
            413 => Self::PayloadTooLarge(body),
            431 => Self::HeadersTooLarge(body),
            422 => Self::Unprocessable(body),
            502 => Self::BadGateway(body),
            503 => Self::Busy(body, retry_after),
            _ => Self::Internal(body),
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        let code = match error {
            BodyError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
            BodyError::TimedOut { .. } => ErrorCode::RequestTimeout,
            BodyError::Unreadable(_) => ErrorCode::InvalidPayload,
        };
        Self::new(code, error.to_string())
    }
}

impl From<SignatureError> for ApiError {
    fn from(error: SignatureError) -> Self {
        Self::new(ErrorCode::InvalidSignature, error.to_string())
    }
}

impl From<PayloadRejection> for ApiError {
    fn from(rejection: PayloadRejection) -> Self {
        let error = Self::new(ErrorCode::InvalidPayload, rejection.error.to_string());
        match rejection.conversation_id {
            Some(id) => error.for_conversation(id.as_str()),
            None => error,
        }
    }
}

impl From<DeliveryError> for ApiError {
    fn from(error: DeliveryError) -> Self {
        match &error {
            DeliveryError::Conflict(_) => {
                Self::new(ErrorCode::DuplicateConversation, error.to_string())
            }
            DeliveryError::StillInFlight(_) => {
                Self::busy(error.to_string(), Duration::from_secs(5))
            }
            DeliveryError::Ledger(cause) => Self::store_unavailable(cause),
        }
    }
}

impl From<PersonaliseError> for ApiError {
    fn from(error: PersonaliseError) -> Self {
        if let PersonaliseError::CloningFailed(UpstreamError::Busy(retry_after))
        | PersonaliseError::AgentUpdateFailed {
            source: UpstreamError::Busy(retry_after),
            ..
        } = &error
        {
            return Self::busy(error.to_string(), *retry_after);
        }
        let unavailable = |source: &UpstreamError| {
            source.is_platform_failure() || matches!(source, UpstreamError::OutOfTime(_))
        };
        let code = match &error {
            PersonaliseError::InvalidSample(_) => ErrorCode::InvalidVoiceSample,
            PersonaliseError::CloningFailed(source)
            | PersonaliseError::AgentUpdateFailed { source, .. }
                if unavailable(source) =>
            {
                ErrorCode::UpstreamUnavailable
            }
            // A refusal, full voice slots (`VoiceLimitReached`, when nothing could be evicted)
            // included: the platform is up and said no, and the sender sees why.
            PersonaliseError::CloningFailed(_) => ErrorCode::VoiceCloningFailed,
            PersonaliseError::AgentUpdateFailed { .. } => ErrorCode::AgentUpdateFailed,
        };
        Self::new(code, error.to_string())
    }
}

impl From<PostCallError> for ApiError {
    fn from(error: PostCallError) -> Self {
        match error {
            PostCallError::Signature(e) => e.into(),
            PostCallError::Payload(e) => Self::new(ErrorCode::InvalidPayload, e.to_string()),
            PostCallError::Registry(cause) => Self::store_unavailable(&cause),
            PostCallError::Events(cause) => Self::store_unavailable(&cause),
        }
    }
}

impl From<PreCallFailure> for ApiError {
    fn from(failure: PreCallFailure) -> Self {
        let error = match failure.error {
            PreCallError::Signature(e) => e.into(),
            // A payload rejection knows how far the body was read.
            PreCallError::Payload(rejection) => return rejection.into(),
            PreCallError::Delivery(e) => e.into(),
            PreCallError::Personalise(e) => e.into(),
            PreCallError::Internal => Self::internal(),
        };
        match failure.conversation_id {
            Some(id) => error.for_conversation(id.as_str()),
            None => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_voice_slots_and_a_spent_add_edit_budget_are_422_voice_cloning_failed_with_the_reason() {
        for source in [
            UpstreamError::VoiceLimitReached("voice_limit_reached: slots full".into()),
            UpstreamError::Refused("voice_add_edit_limit_reached: budget spent".into()),
        ] {
            let reason = source.to_string();
            let error = ApiError::from(PersonaliseError::CloningFailed(source));
            assert_eq!(error.code, ErrorCode::VoiceCloningFailed, "{reason}");
            assert_eq!(error.status(), 422);
            assert_eq!(error.message, format!("Voice cloning failed: {reason}"));
        }
    }

    #[test]
    fn logs_name_the_code_as_the_wire_spells_it() {
        let error = ApiError::new(ErrorCode::InvalidVoiceSample, "x");
        assert_eq!(error.code_name(), "INVALID_VOICE_SAMPLE");
    }

    #[test]
    fn every_code_maps_to_its_status() {
        for (code, status) in [
            (ErrorCode::InvalidPayload, 400),
            (ErrorCode::InvalidVoiceSample, 400),
            (ErrorCode::InvalidSignature, 401),
            (ErrorCode::Unauthorized, 401),
            (ErrorCode::RequestTimeout, 408),
            (ErrorCode::DuplicateConversation, 409),
            (ErrorCode::Busy, 503),
            (ErrorCode::StoreUnavailable, 503),
            (ErrorCode::HeadersTooLarge, 431),
            (ErrorCode::NotFound, 404),
            (ErrorCode::MethodNotAllowed, 405),
            (ErrorCode::PayloadTooLarge, 413),
            (ErrorCode::VoiceCloningFailed, 422),
            (ErrorCode::AgentUpdateFailed, 422),
            (ErrorCode::InternalError, 500),
            (ErrorCode::UpstreamUnavailable, 502),
        ] {
            assert_eq!(ApiError::new(code, "x").status(), status, "{code:?}");
        }
    }

    /// Every code, as the spec lists it.
    fn all_codes() -> Vec<ErrorCode> {
        use poem_openapi::types::{ParseFromJSON, Type};
        let mut registry = poem_openapi::registry::Registry::new();
        ErrorCode::register(&mut registry);
        registry.schemas["ErrorCode"]
            .enum_items
            .iter()
            .map(|name| ErrorCode::parse_from_json(Some(name.clone())).unwrap())
            .collect()
    }

    #[test]
    fn as_str_spells_every_code_as_the_wire_does() {
        use poem_openapi::types::ToJSON;
        for code in all_codes() {
            assert_eq!(
                code.to_json(),
                Some(serde_json::Value::from(code.as_str())),
                "{code:?}"
            );
        }
    }

    #[test]
    fn each_status_documents_exactly_the_codes_it_is_sent_with() {
        use super::super::error_examples::examples;
        // Unknown paths and methods are answered by the router, and a wrong bearer token by the
        // conversation-initiation webhook: they never come from `POST /webhook`.
        let router_level = [
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Unauthorized,
        ];
        for code in all_codes() {
            let status = ApiError::new(code, "x").status();
            let documented = examples(status).iter().any(|e| e.code == code);
            assert_eq!(
                documented,
                !router_level.contains(&code),
                "{code:?} under {status}"
            );
        }
        for status in 100..600 {
            for example in examples(status) {
                assert_eq!(ApiError::new(example.code, "x").status(), status);
            }
        }
    }

    #[test]
    fn an_error_is_sent_with_the_status_it_is_documented_under() {
        use poem::IntoResponse;
        for code in all_codes() {
            let error = ApiError::new(code, "x");
            let status = error.status();
            if status == 404 || status == 405 {
                continue;
            }
            let response = WebhookResponse::from(error).into_response();
            assert_eq!(response.status().as_u16(), status, "{code:?}");
        }
    }
}
