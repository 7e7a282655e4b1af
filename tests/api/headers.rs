//! Request headers are capped (`MAX_HEADER_BYTES`, 16 KB by default): more gets
//! `431 HEADERS_TOO_LARGE` in the service's own error shape, before any route runs.

use crate::helpers::{TestApp, assert_error, body_of, metadata, send, spawn_app, spawn_app_with};

/// A header whose value is `bytes` long.
fn padding(bytes: usize) -> String {
    "a".repeat(bytes)
}

/// POSTs a correctly signed webhook carrying an extra `x-padding` header of `bytes`.
async fn post_padded(app: &TestApp, conversation_id: &str, bytes: usize) -> reqwest::Response {
    send(
        app.signed_json(&body_of(&metadata(conversation_id)))
            .header("x-padding", padding(bytes)),
    )
    .await
}

#[tokio::test]
async fn refuses_headers_over_max_header_bytes_with_431_headers_too_large() {
    let app = spawn_app_with(&[("MAX_HEADER_BYTES", "1024")]).await;

    let response = post_padded(&app, "conv_big_headers", 2_000).await;

    let message = assert_error(response, 431, "HEADERS_TOO_LARGE", None).await;
    assert!(
        message.contains("1024"),
        "the message names the limit: {message}"
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn accepts_headers_under_max_header_bytes() {
    let app = spawn_app_with(&[("MAX_HEADER_BYTES", "1024")]).await;

    let response = post_padded(&app, "conv_small_headers", 300).await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.agents.updates().len(), 1);
}

#[tokio::test]
async fn counts_every_header_not_just_one_large_one() {
    let app = spawn_app_with(&[("MAX_HEADER_BYTES", "1024")]).await;

    let response = send((0..20).fold(
        app.signed_json(&body_of(&metadata("conv_many_headers"))),
        |request, i| request.header(format!("x-padding-{i:02}"), padding(60)),
    ))
    .await;

    assert_error(response, 431, "HEADERS_TOO_LARGE", None).await;
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn caps_headers_on_every_route_not_only_the_webhook() {
    let app = spawn_app_with(&[("MAX_HEADER_BYTES", "1024")]).await;

    for path in ["/health", "/openapi.json", "/no-such-route"] {
        let response = send(
            app.client
                .get(app.url(path))
                .header("x-padding", padding(2_000)),
        )
        .await;
        assert_error(response, 431, "HEADERS_TOO_LARGE", None).await;
    }
}

#[tokio::test]
async fn caps_headers_at_16_kb_by_default() {
    let app = spawn_app().await;

    let under = post_padded(&app, "conv_8kb_headers", 8 * 1024).await;
    assert_eq!(under.status(), 200);
    let over = post_padded(&app, "conv_17kb_headers", 17 * 1024).await;
    assert_error(over, 431, "HEADERS_TOO_LARGE", None).await;
    assert_eq!(app.agents.updates().len(), 1, "only the first was handled");
}
