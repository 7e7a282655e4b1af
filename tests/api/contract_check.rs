//! The contract check itself (`contract`): it catches a response that drifted from the
//! committed spec, the spec's own examples keep it, and no test goes around it.

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::contract::{check, validator_for, verdict};

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers
}

fn success() -> Value {
    json!({
        "status": "success",
        "conversation_id": "conv_abc123xyz",
        "voice_id": null,
        "voice_name": null,
        "agent_updated": true,
        "voice_reused": false,
        "caller_info": {"Name": "Ivan"},
        "processing_time_ms": 3
    })
}

fn webhook_verdict(status: u16, body: &Value) -> Result<(), String> {
    verdict(
        "POST",
        "/webhook",
        status,
        &json_headers(),
        body.to_string().as_bytes(),
    )
}

#[test]
fn a_documented_success_with_null_voice_fields_keeps_the_contract() {
    assert_eq!(webhook_verdict(200, &success()), Ok(()));
}

#[test]
fn catches_a_null_where_the_spec_requires_a_string() {
    let mut drifted = success();
    drifted["conversation_id"] = Value::Null;

    let problem = webhook_verdict(200, &drifted).unwrap_err();

    assert!(problem.contains("/conversation_id"), "{problem}");
}

#[test]
#[should_panic(expected = "breaks openapi/openapi.json")]
fn a_drifted_body_fails_the_test_that_received_it() {
    let mut drifted = success();
    drifted["agent_updated"] = json!("yes");
    check(
        "POST",
        "/webhook",
        200,
        &json_headers(),
        drifted.to_string().as_bytes(),
    );
}

#[test]
fn catches_a_field_the_spec_does_not_document() {
    let mut drifted = success();
    drifted["voice_recycled"] = json!(false);

    assert!(webhook_verdict(200, &drifted).is_err());
}

#[test]
fn catches_a_missing_required_field_and_a_code_outside_the_enum() {
    let mut missing = success();
    missing.as_object_mut().unwrap().remove("agent_updated");
    assert!(webhook_verdict(200, &missing).is_err());

    let unknown_code = json!({"status": "error", "error_code": "TEAPOT",
        "error_message": "x", "conversation_id": null});
    assert!(webhook_verdict(400, &unknown_code).is_err());
}

#[test]
fn catches_a_status_the_operation_does_not_document() {
    let error = json!({"status": "error", "error_code": "INTERNAL_ERROR",
        "error_message": "x", "conversation_id": null});

    let problem = webhook_verdict(418, &error).unwrap_err();

    assert!(problem.contains("418 is not documented"), "{problem}");
}

#[test]
fn catches_an_error_code_sent_under_another_status_than_its_own() {
    let signature = json!({"status": "error", "error_code": "INVALID_SIGNATURE",
        "error_message": "Signature does not match the request body", "conversation_id": null});
    assert_eq!(webhook_verdict(401, &signature), Ok(()));

    assert!(webhook_verdict(400, &signature).is_err());
}

#[test]
fn catches_a_wrong_content_type_and_a_missing_required_header() {
    let body = success().to_string();
    let mut plain = HeaderMap::new();
    plain.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    assert!(verdict("POST", "/webhook", 200, &plain, body.as_bytes()).is_err());

    // 503 BUSY documents a required Retry-After.
    let busy = json!({"status": "error", "error_code": "BUSY",
        "error_message": "x", "conversation_id": "c"});
    assert!(
        webhook_verdict(503, &busy)
            .unwrap_err()
            .contains("retry-after")
    );
}

#[test]
fn paths_outside_the_spec_are_held_to_the_error_shape_when_they_answer_an_error() {
    let not_json = b"<html>not found</html>";
    assert!(verdict("GET", "/nope", 404, &json_headers(), not_json).is_err());
    assert!(verdict("GET", "/nope", 200, &json_headers(), b"{}").is_err());
    assert_eq!(
        verdict("GET", "/docs", 200, &HeaderMap::new(), not_json),
        Ok(())
    );
}

/// Every schema in the spec that carries an example: the components and the inline schemas of
/// each response, with where they are.
fn schemas_with_examples<'a>(at: String, schema: &'a Value, found: &mut Vec<(String, &'a Value)>) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("example") {
                found.push((at.clone(), schema));
            }
            for (key, value) in map {
                if key != "example" {
                    schemas_with_examples(format!("{at}/{key}"), value, found);
                }
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                schemas_with_examples(format!("{at}/{i}"), value, found);
            }
        }
        _ => {}
    }
}

#[test]
fn every_example_in_the_spec_keeps_its_own_schema() {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let mut found = Vec::new();
    schemas_with_examples("#/components".into(), &spec["components"], &mut found);
    schemas_with_examples("#/paths".into(), &spec["paths"], &mut found);
    // Parameters carry examples of their own, outside any schema.
    found.retain(|(at, _)| at.contains("/schemas/") || at.contains("/schema"));

    assert!(found.len() > 5, "the spec's examples were found: {found:?}");
    for (at, schema) in found {
        let validator = validator_for(schema);
        let example = &schema["example"];
        let problems: Vec<String> = validator
            .iter_errors(example)
            .map(|e| e.to_string())
            .collect();
        assert!(
            problems.is_empty(),
            "the example at {at} breaks its schema: {problems:?}"
        );
    }
}

#[test]
fn no_test_sends_a_request_around_the_contract_check() {
    // The fake ElevenLabs' own tests talk to the fake, not to this service: the contract of
    // openapi/openapi.json is not theirs to keep.
    let exempt = ["contract.rs", "contract_check.rs", "fake_elevenlabs"];
    let bypasses = [".send()", "client.execute("];
    let mut pending = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/api"
    ))];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if exempt.contains(&name.as_str()) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for bypass in bypasses {
                assert!(
                    !source.contains(bypass),
                    "{} calls {bypass} itself: send requests with helpers::send, which holds \
                     the response to openapi/openapi.json",
                    path.display()
                );
            }
        }
    }
}
