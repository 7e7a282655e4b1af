//! Reading ElevenLabs' error bodies and classifying refusals.
//!
//! Shapes (from their OpenAPI spec and SDKs): business errors
//! `{"detail":{"status":"voice_limit_reached","message":"…"}}`, validation errors
//! `{"detail":[{"loc":["body","files"],"msg":"…","type":"…"}]}`, and sometimes a plain
//! `{"detail":"…"}`.

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::ports::UpstreamError;

/// Longest reason carried into our error message.
const MAX_REASON_CHARS: usize = 300;

/// The custom-voice slots are full (HTTP 400): deleting a voice frees one.
const VOICE_LIMIT_REACHED: &str = "voice_limit_reached";

/// Business error codes that mean "the account cannot do this", not "this request is wrong".
/// `voice_add_edit_limit_reached` (HTTP 403) is the monthly add/edit budget: deleting a voice
/// does not refund it, so it is an ordinary refusal, never [`VOICE_LIMIT_REACHED`].
const ACCOUNT_REFUSALS: &[&str] = &[
    "quota_exceeded",
    "invalid_api_key",
    "missing_permissions",
    "can_not_use_instant_voice_cloning",
    "only_for_creator+",
    "payment_required",
    "voice_add_edit_limit_reached",
];

#[derive(Deserialize)]
struct ErrorEnvelope {
    detail: Value,
}

/// The upstream's reason, as one line: `status: message`, the validation errors, or the HTTP
/// status when the body says nothing we can read.
pub fn reason(status: StatusCode, body: &[u8]) -> (Option<String>, String) {
    let detail = serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()
        .map(|e| e.detail);
    let (code, text) = match detail {
        Some(Value::Object(map)) => {
            let code = map.get("status").and_then(Value::as_str).map(str::to_owned);
            let message = map.get("message").and_then(Value::as_str).unwrap_or("");
            let text = match &code {
                Some(code) if !message.is_empty() => format!("{code}: {message}"),
                Some(code) => code.clone(),
                None => message.to_owned(),
            };
            (code, text)
        }
        Some(Value::Array(items)) => (None, validation_errors(&items)),
        Some(Value::String(text)) => (None, text),
        _ => (None, String::new()),
    };
    let text = if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        text
    };
    (code, truncate(&text))
}

fn validation_errors(items: &[Value]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|item| {
            let loc = item
                .get("loc")
                .and_then(Value::as_array)
                .map(|loc| {
                    loc.iter()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            let msg = item.get("msg").and_then(Value::as_str).unwrap_or("invalid");
            if loc.is_empty() {
                msg.to_owned()
            } else {
                format!("{loc}: {msg}")
            }
        })
        .collect();
    format!("validation error: {}", parts.join("; "))
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MAX_REASON_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_REASON_CHARS).collect();
    short.push('…');
    short
}

/// Classifies a final (not retried) 4xx answer. The business code decides before the status:
/// full slots are told apart from every other refusal whatever status they come with.
pub fn refusal(status: StatusCode, body: &[u8]) -> UpstreamError {
    let (code, text) = reason(status, body);
    if code.as_deref() == Some(VOICE_LIMIT_REACHED) {
        return UpstreamError::VoiceLimitReached(text);
    }
    let account = matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::PAYMENT_REQUIRED | StatusCode::FORBIDDEN
    ) || code
        .as_deref()
        .is_some_and(|c| ACCOUNT_REFUSALS.contains(&c));
    if account {
        UpstreamError::Refused(text)
    } else {
        UpstreamError::InvalidRequest(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn business(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"detail": {"status": code, "message": message}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn reads_a_business_error() {
        let body = business("quota_exceeded", "This request exceeds your quota");
        assert_eq!(
            refusal(StatusCode::UNAUTHORIZED, &body),
            UpstreamError::Refused("quota_exceeded: This request exceeds your quota".into())
        );
    }

    #[test]
    fn full_voice_slots_are_told_apart_from_other_refusals() {
        let body = business(
            "voice_limit_reached",
            "You have reached your maximum amount of custom voices",
        );
        // ElevenLabs sends it as 400; the code decides, so a 403 would read the same.
        for status in [StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN] {
            assert_eq!(
                refusal(status, &body),
                UpstreamError::VoiceLimitReached(
                    "voice_limit_reached: You have reached your maximum amount of custom voices"
                        .into()
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn a_spent_monthly_add_edit_budget_is_a_plain_refusal_not_full_slots() {
        let body = business(
            "voice_add_edit_limit_reached",
            "You have reached your monthly voice add/edit limit",
        );
        // Reported as 403; a 400 must not turn it into a request error (or into full slots).
        for status in [StatusCode::FORBIDDEN, StatusCode::BAD_REQUEST] {
            assert_eq!(
                refusal(status, &body),
                UpstreamError::Refused(
                    "voice_add_edit_limit_reached: You have reached your monthly voice add/edit \
                     limit"
                        .into()
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn reads_a_validation_error_list() {
        let body = br#"{"detail":[{"loc":["body","files",0],"msg":"Expected UploadFile","type":"value_error"}]}"#;
        assert_eq!(
            refusal(StatusCode::UNPROCESSABLE_ENTITY, body),
            UpstreamError::InvalidRequest(
                "validation error: body.files.0: Expected UploadFile".into()
            )
        );
    }

    #[test]
    fn auth_and_permission_failures_are_account_refusals() {
        let body = br#"{"detail":{"status":"invalid_api_key","message":"Invalid API key"}}"#;
        assert!(matches!(
            refusal(StatusCode::UNAUTHORIZED, body),
            UpstreamError::Refused(_)
        ));
        assert!(matches!(
            refusal(StatusCode::FORBIDDEN, b""),
            UpstreamError::Refused(_)
        ));
    }

    #[test]
    fn falls_back_to_the_status_for_unreadable_bodies() {
        assert_eq!(
            refusal(StatusCode::NOT_FOUND, b"<html>nope</html>"),
            UpstreamError::InvalidRequest("HTTP 404 Not Found".into())
        );
        assert_eq!(
            reason(StatusCode::NOT_FOUND, br#"{"detail":"Agent not found"}"#).1,
            "Agent not found"
        );
    }

    #[test]
    fn long_reasons_are_truncated() {
        let body = format!(r#"{{"detail":"{}"}}"#, "x".repeat(5000));
        assert!(
            reason(StatusCode::BAD_REQUEST, body.as_bytes())
                .1
                .chars()
                .count()
                <= MAX_REASON_CHARS + 1
        );
    }
}
