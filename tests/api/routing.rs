//! Requests no endpoint takes: an unknown path answers `404 NOT_FOUND`, a known path with a
//! method it does not take `405 METHOD_NOT_ALLOWED` — in the SPEC's error shape, like every
//! other error, and without reaching ElevenLabs.

use reqwest::Method;

use crate::helpers::{TestApp, assert_error, body_of, metadata, send, spawn_app};

async fn request(app: &TestApp, method: Method, path: &str) -> reqwest::Response {
    send(app.client.request(method, app.url(path))).await
}

#[tokio::test]
async fn an_unknown_path_answers_404_not_found_in_the_error_shape() {
    let app = spawn_app().await;

    for (method, path) in [
        (Method::POST, "/nope"),
        (Method::GET, "/nope"),
        (Method::POST, "/webhook/nope"),
        (Method::GET, "/docs/nope"),
    ] {
        let response = request(&app, method, path).await;
        assert_error(response, 404, "NOT_FOUND", None).await;
    }
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn a_signed_webhook_sent_to_an_unknown_path_is_not_handled() {
    let app = spawn_app().await;
    let body = body_of(&metadata("conv_wrong_path"));

    let response = send(
        app.client
            .post(app.url("/webhooks"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", app.sign(&body))
            .body(body),
    )
    .await;

    assert_error(response, 404, "NOT_FOUND", None).await;
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn get_on_the_webhook_answers_405_method_not_allowed_in_the_error_shape() {
    let app = spawn_app().await;

    let response = request(&app, Method::GET, "/webhook").await;

    let message = assert_error(response, 405, "METHOD_NOT_ALLOWED", None).await;
    assert!(message.contains("method"), "{message}");
}

#[tokio::test]
async fn other_wrong_methods_answer_405_on_every_known_path() {
    let app = spawn_app().await;

    for (method, path) in [
        (Method::PUT, "/webhook"),
        (Method::DELETE, "/webhook"),
        (Method::POST, "/health"),
        (Method::POST, "/openapi.json"),
    ] {
        let response = request(&app, method.clone(), path).await;
        assert_error(response, 405, "METHOD_NOT_ALLOWED", None).await;
    }
    app.assert_nothing_reached_elevenlabs();
}
