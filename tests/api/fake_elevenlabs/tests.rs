//! Self-tests of the fake, driving it with reqwest the way our client does: what it answers,
//! what it keeps, and what each scripted fault does to the client and to the account. The
//! helpers here are shared by the files under `tests/`, one per concern.

mod agents;
mod faults;
mod invariants;
mod service;
mod voices;

use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::FakeElevenLabs;

/// A client without a proxy (the fake is on loopback).
fn client() -> reqwest::Client {
    client_with(reqwest::Client::builder())
}

fn client_with(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder.no_proxy().build().expect("an HTTP client")
}

/// `fake`'s URL of `path`.
fn url(fake: &FakeElevenLabs, path: &str) -> String {
    format!("{}{path}", fake.uri())
}

/// A request to `fake` carrying its API key.
fn request(fake: &FakeElevenLabs, method: Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, url(fake, path))
        .header("xi-api-key", fake.api_key())
}

/// The clone form our client sends: `name`, one WAV `files` part, `description`, `labels`.
fn clone_form(name: &str, labels: &Value) -> Form {
    Form::new()
        .text("name", name.to_owned())
        .part(
            "files",
            Part::bytes(vec![0_u8; 1234])
                .file_name("sample.wav")
                .mime_str("audio/wav")
                .expect("a valid MIME type"),
        )
        .text("description", format!("Pre-call voice clone {name}"))
        .text("labels", labels.to_string())
        .text("remove_background_noise", "false")
}

/// `POST /v1/voices/add` with `form`, sent by `client`.
async fn add_voice_with(
    client: &reqwest::Client,
    fake: &FakeElevenLabs,
    form: Form,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(url(fake, "/v1/voices/add"))
        .header("xi-api-key", fake.api_key())
        .multipart(form)
        .send()
        .await
}

/// Clones a voice called `name` for conversation `conversation_id` and returns the answer.
async fn add_voice(
    fake: &FakeElevenLabs,
    name: &str,
    conversation_id: &str,
) -> (StatusCode, Value) {
    let labels =
        serde_json::json!({"source": "precall-webhook", "conversation_id": conversation_id});
    let response = add_voice_with(&client(), fake, clone_form(name, &labels))
        .await
        .expect("the fake answers");
    status_and_json(response).await
}

/// The voice id of a successful clone.
async fn created(fake: &FakeElevenLabs, name: &str, conversation_id: &str) -> String {
    let (status, body) = add_voice(fake, name, conversation_id).await;
    assert_eq!(status, 200, "{body}");
    body["voice_id"].as_str().expect("a voice id").to_owned()
}

/// Sends `builder` and reads the status and JSON body.
async fn send(builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
    status_and_json(builder.send().await.expect("the fake answers")).await
}

/// The status and JSON body of a response.
async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the {status} answer is not JSON ({e}): {text}"));
    (status, body)
}

/// `GET /v2/voices?{query}`.
async fn list(fake: &FakeElevenLabs, query: &str) -> (StatusCode, Value) {
    send(request(fake, Method::GET, &format!("/v2/voices?{query}"))).await
}

/// The `voice_id`s of a voice list, in order.
fn ids(list: &Value) -> Vec<String> {
    list["voices"]
        .as_array()
        .expect("a voices array")
        .iter()
        .map(|v| v["voice_id"].as_str().expect("a voice id").to_owned())
        .collect()
}
