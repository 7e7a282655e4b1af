//! `POST /webhook` is answered straight from hyper, not through poem's router. Every webhook
//! test here goes that way; this file holds what only the dispatch decides. The direct answer
//! is held to poem's operation's in `src/app/http/direct_webhook.rs`; the header cap, the
//! metrics and the error shapes on this path are covered where those features are.

use crate::helpers::{TestApp, body_of, metadata, send, spawn_app, status_and_json};

async fn post(app: &TestApp, path: &str, body: Vec<u8>, signature: &str) -> reqwest::Response {
    send(
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", signature)
            .body(body),
    )
    .await
}

#[tokio::test]
async fn a_query_string_does_not_keep_a_webhook_from_its_handler() {
    let app = spawn_app().await;
    let body = body_of(&metadata("conv_query"));
    let signature = app.sign(&body);

    let (status, answer) =
        status_and_json(post(&app, "/webhook?source=test", body, &signature).await).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.agents.updates().len(), 1);
}

#[tokio::test]
async fn a_trailing_slash_is_another_path() {
    let app = spawn_app().await;
    let body = body_of(&metadata("conv_slash"));
    let signature = app.sign(&body);

    let (status, answer) = status_and_json(post(&app, "/webhook/", body, &signature).await).await;

    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error_code"], "NOT_FOUND");
    app.assert_nothing_reached_elevenlabs();
}
