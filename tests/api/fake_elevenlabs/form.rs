//! The strict reading of `POST /v1/voices/add` (`Body_Add_voice_v1_voices_add_post`): the raw
//! multipart body parsed with `multer`, refused the way ElevenLabs' FastAPI refuses it — a 422
//! `HTTPValidationError` listing every field in error, or a 400 when the body is not multipart.

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::Bytes;
use serde_json::{Value, json};

use super::account::{FakeSample, NewVoice, Refusal, validation_error};

/// Parses the clone request: `name` (text, required), `files` (file parts, at least one),
/// `description`, `labels` (a JSON object of strings) and `remove_background_noise` (a boolean).
pub(super) async fn add_voice(
    content_type: Option<&str>,
    body: Bytes,
) -> Result<NewVoice, Refusal> {
    let mut errors = Vec::new();
    let mut name = None;
    let mut description = None;
    let mut labels = BTreeMap::new();
    let mut samples = Vec::new();
    let mut files_seen = 0;
    let mut remove_background_noise = false;

    // Not multipart at all: FastAPI sees an empty form, so every required field is missing.
    if let Some(boundary) = content_type.and_then(|ct| multer::parse_boundary(ct).ok()) {
        let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(_) => return Err(unparseable()),
            };
            let field_name = field.name().unwrap_or_default().to_owned();
            let file_name = field.file_name().map(str::to_owned);
            let part_type = field.content_type().map(ToString::to_string);
            let data = field.bytes().await.map_err(|_| unparseable())?;
            let text = || String::from_utf8_lossy(&data).into_owned();
            match (field_name.as_str(), file_name) {
                ("files", Some(file_name)) => {
                    files_seen += 1;
                    samples.push(FakeSample {
                        file_name,
                        content_type: part_type,
                        size_bytes: data.len(),
                    });
                }
                ("files", None) => {
                    errors.push(validation_error(
                        json!(["body", "files", files_seen]),
                        "Expected UploadFile, received: <class 'str'>",
                        "value_error",
                    ));
                    files_seen += 1;
                }
                ("name" | "description" | "labels" | "remove_background_noise", Some(_)) => {
                    errors.push(validation_error(
                        json!(["body", field_name]),
                        "Input should be a valid string",
                        "string_type",
                    ));
                }
                ("name", None) => name = Some(text()),
                ("description", None) => description = Some(text()),
                ("labels", None) => match serde_json::from_slice(&data) {
                    Ok(parsed) => labels = parsed,
                    Err(_) => errors.push(validation_error(
                        json!(["body", "labels"]),
                        "Value error, labels must be a JSON object of string values",
                        "value_error",
                    )),
                },
                ("remove_background_noise", None) => match parse_bool(&text()) {
                    Some(flag) => remove_background_noise = flag,
                    None => errors.push(validation_error(
                        json!(["body", "remove_background_noise"]),
                        "Input should be a valid boolean, unable to interpret input",
                        "bool_parsing",
                    )),
                },
                // Unknown fields are ignored, as FastAPI does.
                _ => {}
            }
        }
    }
    if name.is_none() {
        errors.push(missing("name"));
    }
    if files_seen == 0 {
        errors.push(missing("files"));
    }
    match name {
        Some(name) if errors.is_empty() => Ok(NewVoice {
            name,
            description,
            labels,
            samples,
            remove_background_noise,
        }),
        _ => Err(Refusal::Invalid(errors)),
    }
}

fn missing(field: &str) -> Value {
    validation_error(json!(["body", field]), "Field required", "missing")
}

/// Starlette's answer to a multipart body it cannot parse.
fn unparseable() -> Refusal {
    Refusal::Plain {
        status: 400,
        detail: "There was an error parsing the body".to_owned(),
    }
}

/// Pydantic's lenient booleans.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}
