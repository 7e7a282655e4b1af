//! What [`ErrorJson`](super::error_json::ErrorJson) and
//! [`SuccessJson`](super::success_json::SuccessJson) share: each is documented in the spec as a
//! poem-openapi object and writes its bytes itself, from a borrowed wire shape.

use poem::Response;
use poem::http::HeaderValue;
use poem::http::header::CONTENT_TYPE;
use serde::Serialize;

/// A `Payload` documented as `$object` (its schema, poem-openapi's JSON content type) for a type
/// that writes its own bytes.
macro_rules! documented_as {
    ($payload:ty, $object:ty) => {
        impl poem_openapi::payload::Payload for $payload {
            const CONTENT_TYPE: &'static str =
                <poem_openapi::payload::Json<$object> as poem_openapi::payload::Payload>::CONTENT_TYPE;

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                <$object as poem_openapi::types::Type>::schema_ref()
            }

            fn register(registry: &mut poem_openapi::registry::Registry) {
                <$object as poem_openapi::types::Type>::register(registry);
            }
        }
    };
}
pub(super) use documented_as;

/// `wire` as a JSON answer with `content_type`. Serializing borrowed strings into a Vec cannot
/// fail; were it to, the answer would keep its status with an empty body rather than panic.
pub(super) fn json_answer(content_type: &'static str, wire: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(wire).unwrap_or_default();
    Response::builder()
        .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
        .body(bytes)
}

/// Asserts that `answer` is `expected` to the byte: status, headers and body. `case` names it.
#[cfg(test)]
pub(super) async fn assert_same_answer(answer: Response, expected: Response, case: &str) {
    async fn text_of(response: Response) -> String {
        let bytes = response.into_body().into_vec().await;
        String::from_utf8(bytes.expect("an in-memory body")).expect("UTF-8 JSON")
    }
    assert_eq!(answer.status(), expected.status(), "{case}");
    assert_eq!(answer.headers(), expected.headers(), "{case}");
    assert_eq!(text_of(answer).await, text_of(expected).await, "{case}");
}
