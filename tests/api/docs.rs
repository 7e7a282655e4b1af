//! `GET /openapi.json` and `GET /docs`: the spec integrators read, and the committed copy of it.

use serde_json::Value;

use crate::helpers::{spawn_app, status_and_json};

const COMMITTED_SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

#[tokio::test]
async fn docs_serve_the_swagger_ui() {
    let app = spawn_app().await;

    let response = app.get("/docs").await;

    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = response.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
}

#[tokio::test]
async fn the_spec_documents_the_webhook_with_both_bodies_and_the_signature_header() {
    let app = spawn_app().await;

    let (status, spec) = status_and_json(app.get("/openapi.json").await).await;

    assert_eq!(status, 200);
    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3."),
        "OpenAPI 3"
    );
    let webhook = &spec["paths"]["/webhook"]["post"];
    let content = webhook["requestBody"]["content"]
        .as_object()
        .expect("a request body");
    assert!(content.contains_key("application/json"), "{content:?}");
    assert!(content.contains_key("multipart/form-data"), "{content:?}");
    let signature = webhook["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "elevenlabs-signature")
        .expect("the elevenlabs-signature parameter");
    assert_eq!(signature["in"], "header");
    assert_eq!(signature["required"], true);
    let responses = webhook["responses"].as_object().expect("responses");
    for status in [
        "200", "400", "401", "408", "409", "413", "422", "431", "500", "502", "503",
    ] {
        assert!(
            responses.contains_key(status),
            "status {status} is documented"
        );
    }
    assert!(spec["paths"]["/health"]["get"].is_object());
}

#[tokio::test]
async fn the_spec_says_which_fields_may_be_null() {
    let app = spawn_app().await;

    let (_, spec) = status_and_json(app.get("/openapi.json").await).await;

    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("WebhookSuccess", "voice_id"),
        ("WebhookSuccess", "voice_name"),
        ("ErrorBody", "conversation_id"),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["nullable"], true,
            "{schema}.{field} is sent as null, so the spec must say it may be"
        );
    }
}

/// The examples a response's schema shows: its own, or one per `oneOf` branch.
fn examples_of(schema: &Value) -> Vec<&Value> {
    match schema["oneOf"].as_array() {
        Some(branches) => branches.iter().map(|b| &b["example"]).collect(),
        None => vec![&schema["example"]],
    }
}

#[tokio::test]
async fn each_error_status_shows_an_example_with_its_own_codes() {
    let app = spawn_app().await;

    let (_, spec) = status_and_json(app.get("/openapi.json").await).await;

    let responses = &spec["paths"]["/webhook"]["post"]["responses"];
    for (status, codes) in [
        ("400", &["INVALID_PAYLOAD", "INVALID_VOICE_SAMPLE"][..]),
        ("401", &["INVALID_SIGNATURE"]),
        ("408", &["REQUEST_TIMEOUT"]),
        ("409", &["DUPLICATE_CONVERSATION"]),
        ("413", &["PAYLOAD_TOO_LARGE"]),
        ("422", &["VOICE_CLONING_FAILED", "AGENT_UPDATE_FAILED"]),
        ("431", &["HEADERS_TOO_LARGE"]),
        ("500", &["INTERNAL_ERROR"]),
        ("502", &["UPSTREAM_UNAVAILABLE"]),
        ("503", &["BUSY", "STORE_UNAVAILABLE"]),
    ] {
        let schema = &responses[status]["content"]["application/json; charset=utf-8"]["schema"];
        let examples = examples_of(schema);
        let shown: Vec<&str> = examples
            .iter()
            .map(|e| e["error_code"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(shown, codes, "the examples of {status}");
        for example in examples {
            assert_eq!(example["status"], "error", "{status}: {example}");
            let message = example["error_message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{status}: {example}");
        }
    }
}

#[tokio::test]
async fn the_committed_spec_matches_the_served_one() {
    let app = spawn_app().await;
    let (_, served) = status_and_json(app.get("/openapi.json").await).await;

    let committed: Value = std::fs::read_to_string(COMMITTED_SPEC)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);

    assert!(
        committed == served,
        "openapi/openapi.json is missing or out of date; refresh it with:\n\n    \
         cargo run --quiet -- openapi > openapi/openapi.json\n"
    );
}
