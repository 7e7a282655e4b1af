//! Deleting a voice, including one that is already gone.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use super::*;

#[tokio::test]
async fn delete_sends_delete_with_the_key_to_the_voice() {
    let (server, client) = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/voices/c38kUX8pkfYO2kHyqfFy"))
        .and(header("xi-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;

    client
        .delete_voice(&voice("c38kUX8pkfYO2kHyqfFy"), in_secs(10))
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_voice_that_is_already_gone_counts_as_deleted() {
    let (server, client) = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/voices/gone"))
        .respond_with(business_error(404, "voice_not_found", "Voice not found"))
        .expect(1)
        .mount(&server)
        .await;

    client
        .delete_voice(&voice("gone"), in_secs(10))
        .await
        .unwrap();
}
