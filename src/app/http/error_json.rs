//! The bytes of every error answer. [`ErrorJson`] is documented as an [`ErrorBody`] (the schema
//! every error response of the spec names) and writes exactly the bytes poem-openapi's
//! `Json<ErrorBody>` would, but straight from the [`ApiError`]: poem-openapi builds a
//! `serde_json::Value` tree first, which was a tenth of a refusal's work outside the HMAC
//! (README, "At the floor"). It also leaves the error's code on the response for the request
//! metrics, which no longer read it back from the body.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use serde::Serialize;

use super::json_answer::{documented_as, json_answer};

use super::errors::ApiError;
use super::schema::{ErrorBody, ErrorCode};

/// An error on the wire: the [`ErrorBody`] of an [`ApiError`].
pub struct ErrorJson(ApiError);

impl From<ApiError> for ErrorJson {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

/// The code an error answer carries, kept among the response's extensions (never sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnsweredCode(pub ErrorCode);

/// The wire shape of [`ErrorBody`], borrowed. The keys are in the order poem-openapi writes an
/// object's (sorted: its `serde_json` map is a `BTreeMap`), so the bytes do not change.
#[derive(Serialize)]
struct WireBody<'a> {
    conversation_id: Option<&'a str>,
    error_code: &'static str,
    error_message: &'a str,
    status: &'static str,
}

documented_as!(ErrorJson, ErrorBody);

impl IntoResponse for ErrorJson {
    fn into_response(self) -> Response {
        let ApiError {
            code,
            message,
            conversation_id,
            ..
        } = self.0;
        let wire = WireBody {
            conversation_id: conversation_id.as_deref(),
            error_code: code.as_str(),
            error_message: &message,
            status: "error",
        };
        let mut response = json_answer(Self::CONTENT_TYPE, &wire);
        response.extensions_mut().insert(AnsweredCode(code));
        response
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::payload::Json;

    use super::*;
    use crate::app::http::json_answer::assert_same_answer;

    /// poem-openapi's answer for the same error: what the spec's `ErrorBody` promises.
    fn poem_openapi_answer(error: &ApiError) -> Response {
        Json(ErrorBody {
            status: "error".into(),
            error_code: error.code,
            error_message: error.message.clone(),
            conversation_id: error.conversation_id.clone(),
        })
        .into_response()
    }

    #[tokio::test]
    async fn writes_the_bytes_poem_openapi_writes_for_an_error_body() {
        let errors = [
            ApiError::new(ErrorCode::InvalidSignature, "Signature does not match"),
            ApiError::new(
                ErrorCode::InvalidPayload,
                "quote \" backslash \\ tab \t é \u{1}",
            )
            .for_conversation("conv_\"odd\"/\u{7f}"),
            ApiError::new(ErrorCode::Busy, ""),
            ApiError::internal(),
        ];
        for error in errors {
            let expected = poem_openapi_answer(&error);
            let answer = ErrorJson::from(error.clone()).into_response();
            assert_same_answer(answer, expected, &format!("{error:?}")).await;
        }
    }

    #[test]
    fn leaves_its_code_for_the_metrics() {
        let answer = ErrorJson::from(ApiError::new(ErrorCode::DuplicateConversation, "again"))
            .into_response();
        assert_eq!(
            answer.extensions().get::<AnsweredCode>(),
            Some(&AnsweredCode(ErrorCode::DuplicateConversation))
        );
    }
}
