//! Refusals: how ElevenLabs' error answers are classified, and that none is retried.

use serde_json::json;
use wiremock::ResponseTemplate;

use super::*;

#[tokio::test]
async fn full_voice_slots_are_told_apart_and_not_retried() {
    let error = clone_refused_with(business_error(
        400,
        "voice_limit_reached",
        "You have reached your maximum amount of custom voices",
    ))
    .await;

    let UpstreamError::VoiceLimitReached(message) = error else {
        panic!("expected VoiceLimitReached, got {error:?}");
    };
    assert!(message.starts_with("voice_limit_reached: "), "{message}");
}

#[tokio::test]
async fn a_spent_monthly_add_edit_budget_is_an_account_refusal_not_full_slots() {
    let error = clone_refused_with(business_error(
        403,
        "voice_add_edit_limit_reached",
        "You have reached your monthly voice add/edit limit",
    ))
    .await;

    let UpstreamError::Refused(message) = error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(
        message.starts_with("voice_add_edit_limit_reached: "),
        "{message}"
    );
}

#[tokio::test]
async fn an_invalid_api_key_is_an_account_refusal() {
    let error = clone_refused_with(business_error(401, "invalid_api_key", "Invalid API key")).await;

    assert!(matches!(error, UpstreamError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn a_validation_error_is_an_invalid_request_naming_the_field() {
    let error = clone_refused_with(ResponseTemplate::new(422).set_body_json(json!({
        "detail": [{"loc": ["body", "files"], "msg": "Expected UploadFile", "type": "value_error"}]
    })))
    .await;

    let UpstreamError::InvalidRequest(message) = error else {
        panic!("expected InvalidRequest, got {error:?}");
    };
    assert!(
        message.contains("body.files: Expected UploadFile"),
        "{message}"
    );
}
