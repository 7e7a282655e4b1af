//! `elevenlabs-signature`: `t=<unix seconds>,v0=<hex HMAC-SHA256("<t>." + raw body)>`.
//! Every refusal is `401 INVALID_SIGNATURE`, and nothing of the body is looked at before the
//! signature holds: no parsing, no clone, no agent update, no file.

use precall_webhook::domain::WebhookSecret;
use secrecy::SecretString;

use crate::helpers::{FIXED_NOW, TestApp, assert_error, body_of, json_payload, spawn_app, wav};

const THIRTY_MINUTES: i64 = 30 * 60;

fn valid_body() -> Vec<u8> {
    body_of(&json_payload("conv_signed", Some(&wav(5.0, 16_000))))
}

/// Posts `body` as JSON with `signature` (or none) and asserts the 401; returns the message.
async fn assert_refused(app: &TestApp, signature: Option<&str>, body: Vec<u8>) -> String {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(signature) = signature {
        headers.push(("elevenlabs-signature", signature));
    }
    let message = assert_error(
        app.post_raw(&headers, body).await,
        401,
        "INVALID_SIGNATURE",
        None,
    )
    .await;
    app.assert_nothing_reached_elevenlabs();
    message
}

#[tokio::test]
async fn rejects_a_request_without_a_signature_header() {
    let app = spawn_app().await;

    let message = assert_refused(&app, None, valid_body()).await;

    assert_eq!(message, "Missing elevenlabs-signature header");
}

#[tokio::test]
async fn rejects_malformed_signature_headers() {
    let app = spawn_app().await;
    let body = valid_body();
    let digest = app.sign(&body).split_once("v0=").unwrap().1.to_owned();
    let now = app.now();

    for header in [
        String::new(),
        "garbage".to_owned(),
        format!("v0={digest}"),
        format!("t={now}"),
        format!("t=yesterday,v0={digest}"),
        format!("t={now},v0=not-hex"),
        format!("t={now},v0={}", &digest[..32]),
        format!("t={now},t={now},v0={digest}"),
    ] {
        let message = assert_refused(&app, Some(&header), body.clone()).await;
        assert!(
            message.starts_with("Malformed elevenlabs-signature header"),
            "{header:?}: {message}"
        );
    }
}

#[tokio::test]
async fn rejects_a_signature_made_with_another_secret() {
    let app = spawn_app().await;
    let body = valid_body();
    let other = WebhookSecret::new(SecretString::from("not-the-secret")).unwrap();

    let message = assert_refused(&app, Some(&other.sign(app.now(), &body)), body).await;

    assert_eq!(message, "Signature does not match the request body");
}

#[tokio::test]
async fn rejects_a_body_changed_after_signing() {
    let app = spawn_app().await;
    let body = valid_body();
    let signature = app.sign(&body);
    let tampered = String::from_utf8(body)
        .unwrap()
        .replace("agent_def456uvw", "agent_attacker1")
        .into_bytes();

    let message = assert_refused(&app, Some(&signature), tampered).await;

    assert_eq!(message, "Signature does not match the request body");
}

#[tokio::test]
async fn rejects_a_signature_whose_timestamp_was_changed() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;
    let body = valid_body();
    let moved = app
        .secret
        .sign(FIXED_NOW, &body)
        .replace(&format!("t={FIXED_NOW}"), &format!("t={}", FIXED_NOW + 1));

    let message = assert_refused(&app, Some(&moved), body).await;

    assert_eq!(message, "Signature does not match the request body");
}

#[tokio::test]
async fn rejects_a_signature_older_than_30_minutes() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;
    let body = valid_body();
    let signature = app.secret.sign(FIXED_NOW - THIRTY_MINUTES - 60, &body);

    let message = assert_refused(&app, Some(&signature), body).await;

    assert_eq!(message, "Signature timestamp is older than 30 minutes");
}

#[tokio::test]
async fn rejects_a_signature_more_than_30_minutes_in_the_future() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;
    let body = valid_body();
    let signature = app.secret.sign(FIXED_NOW + THIRTY_MINUTES + 60, &body);

    let message = assert_refused(&app, Some(&signature), body).await;

    assert_eq!(
        message,
        "Signature timestamp is more than 30 minutes in the future"
    );
}

#[tokio::test]
async fn rejects_a_signature_one_second_outside_the_window_either_way() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;
    let body = valid_body();

    for t in [
        FIXED_NOW - THIRTY_MINUTES - 1,
        FIXED_NOW + THIRTY_MINUTES + 1,
    ] {
        assert_refused(&app, Some(&app.secret.sign(t, &body)), body.clone()).await;
    }
}

#[tokio::test]
async fn accepts_a_signature_exactly_30_minutes_old_or_ahead() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;

    for (i, t) in [FIXED_NOW - THIRTY_MINUTES, FIXED_NOW + THIRTY_MINUTES]
        .into_iter()
        .enumerate()
    {
        let body = body_of(&json_payload(&format!("conv_edge_{i}"), None));
        let signature = app.secret.sign(t, &body);
        let response = app
            .post_raw(
                &[
                    ("content-type", "application/json"),
                    ("elevenlabs-signature", &signature),
                ],
                body,
            )
            .await;
        assert_eq!(response.status(), 200, "t = now {:+}", t - FIXED_NOW);
    }
}

#[tokio::test]
async fn a_bad_signature_is_refused_before_an_invalid_body_is_parsed() {
    let app = spawn_app().await;

    for body in [
        b"{ not json".to_vec(),
        br#"{"type":"post_call","conversation_id":"bad id!","agent_id":""}"#.to_vec(),
    ] {
        let other = WebhookSecret::new(SecretString::from("wrong")).unwrap();
        let signature = other.sign(app.now(), &body);
        assert_refused(&app, Some(&signature), body.clone()).await;
        assert_refused(&app, None, body).await;
    }
}

#[tokio::test]
async fn a_bad_signature_is_refused_before_the_content_type_is_looked_at() {
    let app = spawn_app().await;

    let response = app
        .post_raw(&[("content-type", "text/plain")], b"hello".to_vec())
        .await;

    assert_error(response, 401, "INVALID_SIGNATURE", None).await;
}

#[tokio::test]
async fn a_valid_webhook_with_a_bad_signature_clones_nothing_and_stores_nothing() {
    let storage = tempfile::tempdir().unwrap();
    let app = TestApp::builder()
        .var("ENABLE_VOICE_SAMPLE_STORAGE", "true")
        .var(
            "VOICE_SAMPLE_STORAGE_PATH",
            storage.path().to_str().unwrap(),
        )
        .spawn()
        .await;
    let body = valid_body();
    let other = WebhookSecret::new(SecretString::from("wrong")).unwrap();

    assert_refused(&app, Some(&other.sign(app.now(), &body)), body).await;

    let files: Vec<_> = std::fs::read_dir(storage.path()).unwrap().collect();
    assert!(files.is_empty(), "no sample is written: {files:?}");
}
