//! The contract check: every response the integration tests receive is held to the committed
//! `openapi/openapi.json`. The helpers send every request through [`send`] (and check raw TCP
//! answers with [`check`]), so a new test that talks to the server through them is checked
//! without asking for it.
//!
//! # What a response is held to (decided here, and only here)
//!
//! 1. **An operation of the spec** (its path template and method): the status must be documented
//!    for that operation, the content type must be the documented one, the body must match the
//!    documented schema, and the documented headers must be there (when required) and match theirs.
//! 2. **Errors given before any operation runs**, on any path: [`ROUTER_ERRORS`] — 404 `NOT_FOUND`
//!    (no such path), 405 `METHOD_NOT_ALLOWED` (no such method), 431 `HEADERS_TOO_LARGE` (the header
//!    cap in front of every route). Where the operation does not document them, they are held to
//!    the shared error shape, `#/components/schemas/ErrorBody`.
//! 3. **Exempt**: the documents served beside the API, which are not operations of it — the spec
//!    itself (`/openapi.json`) and Swagger UI (`/docs` and below) — as long as they do not answer
//!    an error (an error falls under rule 2).
//!
//! Anything else fails the test: a response the spec does not describe is drift.
//!
//! # How the OpenAPI 3.0 schemas are read
//!
//! Each schema is converted once into JSON Schema 2020-12 and compiled; the validators are
//! cached for the whole test binary. `$ref`s into `#/components/schemas` resolve against those
//! components; `nullable: true` admits `null`; `required`, `enum`, `oneOf`/`allOf`/`anyOf` and
//! documented `additionalProperties` keep their meaning; integer formats (`int32`, `uint64`…)
//! become bounds. One rule is stricter than OpenAPI's default: an object schema (`type: object`
//! with `properties`) that documents no `additionalProperties` is closed — the service's own
//! answers carry exactly the fields it documents, so an undocumented field is drift as well.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::Validator;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value, json};

/// The committed spec, the one integrators download.
const COMMITTED_SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");

/// Statuses the service answers before any operation runs (rule 2).
pub const ROUTER_ERRORS: [u16; 3] = [404, 405, 431];

/// Sends `request` and holds the response to the spec; the response comes back whole (its body
/// already read) for the test to look at.
///
/// # Panics
/// When the response breaks the contract (the message says how), or the body cannot be read.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let request = request?;
    let method = request.method().as_str().to_owned();
    let path = request.url().path().to_owned();
    let response = client.execute(request).await?;

    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    check(&method, &path, status.as_u16(), &headers, &body);

    let mut rebuilt = poem::http::Response::builder()
        .status(status)
        .version(version)
        .extension(Checked)
        .body(body)
        .expect("a response rebuilt from a valid one");
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

/// Marks a response that went through [`send`].
#[derive(Debug, Clone, Copy)]
struct Checked;

/// Asserts that `response` went through [`send`]: helpers that read responses call this, so a
/// response obtained around the check cannot be asserted on unnoticed.
///
/// # Panics
/// When it did not.
pub fn assert_checked(response: &reqwest::Response) {
    assert!(
        response.extensions().get::<Checked>().is_some(),
        "this response was not held to openapi/openapi.json: send requests with helpers::send"
    );
}

/// Holds one response to the spec (see the module documentation).
///
/// # Panics
/// When it breaks the contract.
pub fn check(method: &str, path: &str, status: u16, headers: &HeaderMap, body: &[u8]) {
    if let Err(problem) = verdict(method, path, status, headers, body) {
        panic!(
            "{method} {path} answered {status}, which breaks openapi/openapi.json: {problem}\n\
             body: {}",
            String::from_utf8_lossy(&body[..body.len().min(2_000)])
        );
    }
}

/// Whether a response keeps the contract; `Err` says how it does not.
pub fn verdict(
    method: &str,
    path: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    let contract = contract();
    let operation = contract.operation(method, path);
    if let Some(expected) = operation.and_then(|o| o.response(status)) {
        return expected.check(method, headers, body);
    }
    if ROUTER_ERRORS.contains(&status) {
        return contract.router_error.check(method, headers, body);
    }
    if is_exempt(path) && status < 400 {
        return Ok(());
    }
    Err(match operation {
        Some(_) => format!("status {status} is not documented for {method} {path}"),
        None => format!("{method} {path} is not an operation of the spec"),
    })
}

/// Rule 3: the spec and its viewer are served beside the API, not documented in it.
fn is_exempt(path: &str) -> bool {
    path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/")
}

/// A validator for an OpenAPI 3.0 `schema` of the committed spec (its `$ref`s resolve against
/// the spec's components).
pub fn validator_for(schema: &Value) -> Validator {
    contract().compile(schema)
}

struct Contract {
    /// `components.schemas`, converted.
    defs: Value,
    operations: Vec<Operation>,
    /// Rule 2: the shared error shape.
    router_error: Expected,
}

struct Operation {
    method: String,
    /// Path segments; `None` stands for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// By status key as the spec writes it: `200`, `4XX`, `default`.
    responses: HashMap<String, Expected>,
}

impl Operation {
    fn matches(&self, method: &str, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        self.method.eq_ignore_ascii_case(method)
            && segments.len() == self.segments.len()
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(expected, actual)| match expected {
                    Some(literal) => literal == actual,
                    None => !actual.is_empty(),
                })
    }

    fn response(&self, status: u16) -> Option<&Expected> {
        self.responses
            .get(&status.to_string())
            .or_else(|| self.responses.get(&format!("{}XX", status / 100)))
            .or_else(|| self.responses.get("default"))
    }
}

/// What one documented response must look like.
struct Expected {
    /// Media type (normalised) and the body's validator, if the body is JSON or text.
    content: Vec<(String, Option<Validator>)>,
    headers: Vec<ExpectedHeader>,
}

struct ExpectedHeader {
    name: String,
    required: bool,
    /// The JSON type the value is read as (`integer`, `string`…).
    ty: String,
    validator: Validator,
}

impl Expected {
    fn check(&self, method: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        for header in &self.headers {
            header.check(headers)?;
        }
        // A HEAD answer has the headers of a GET but no body.
        if method.eq_ignore_ascii_case("HEAD") {
            return Ok(());
        }
        if self.content.is_empty() {
            return match body.is_empty() {
                true => Ok(()),
                false => Err("a body where the spec documents none".into()),
            };
        }
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(normalise_media_type)
            .unwrap_or_default();
        let Some((media_type, validator)) = self.content.iter().find(|(m, _)| *m == content_type)
        else {
            let documented: Vec<&str> = self.content.iter().map(|(m, _)| m.as_str()).collect();
            return Err(format!(
                "content type {content_type:?}, documented: {documented:?}"
            ));
        };
        let Some(validator) = validator else {
            return Ok(());
        };
        let instance = if media_type.contains("json") {
            serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?
        } else {
            Value::String(String::from_utf8_lossy(body).into_owned())
        };
        let problems: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
            .collect();
        match problems.is_empty() {
            true => Ok(()),
            false => Err(problems.join("; ")),
        }
    }
}

impl ExpectedHeader {
    fn check(&self, headers: &HeaderMap) -> Result<(), String> {
        let Some(value) = headers.get(&self.name) else {
            return match self.required {
                true => Err(format!("the required header {} is missing", self.name)),
                false => Ok(()),
            };
        };
        let text = value
            .to_str()
            .map_err(|_| format!("header {} is not text", self.name))?;
        let instance = match self.ty.as_str() {
            "integer" | "number" => serde_json::from_str(text)
                .map_err(|_| format!("header {}: {text:?} is not a number", self.name))?,
            "boolean" => serde_json::from_str(text)
                .map_err(|_| format!("header {}: {text:?} is not a boolean", self.name))?,
            _ => Value::String(text.to_owned()),
        };
        match self.validator.validate(&instance) {
            Ok(()) => Ok(()),
            Err(e) => Err(format!("header {}: {e}", self.name)),
        }
    }
}

fn normalise_media_type(media_type: &str) -> String {
    media_type
        .split(';')
        .map(|part| part.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("; ")
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let text = std::fs::read_to_string(COMMITTED_SPEC)
            .unwrap_or_else(|e| panic!("cannot read {COMMITTED_SPEC}: {e}"));
        let spec: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{COMMITTED_SPEC} is not JSON: {e}"));
        Contract::new(&spec)
    })
}

impl Contract {
    fn new(spec: &Value) -> Self {
        let defs: Map<String, Value> = spec["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.clone(), convert(schema)))
            .collect();
        let mut contract = Self {
            defs: Value::Object(defs),
            operations: Vec::new(),
            router_error: Expected {
                content: Vec::new(),
                headers: Vec::new(),
            },
        };
        contract.router_error.content = vec![(
            "application/json; charset=utf-8".to_owned(),
            Some(contract.compile(&json!({"$ref": "#/components/schemas/ErrorBody"}))),
        )];
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let responses = operation["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, response)| (status.clone(), contract.expected(response)))
                    .collect();
                let operation = Operation {
                    method: method.clone(),
                    segments: path
                        .split('/')
                        .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                        .collect(),
                    responses,
                };
                contract.operations.push(operation);
            }
        }
        contract
    }

    fn operation(&self, method: &str, path: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.matches(method, path))
    }

    fn expected(&self, response: &Value) -> Expected {
        let content = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media_type, media)| {
                let media_type = normalise_media_type(media_type);
                let readable = media_type.contains("json") || media_type.starts_with("text/");
                let validator = match (&media["schema"], readable) {
                    (Value::Null, _) | (_, false) => None,
                    (schema, true) => Some(self.compile(schema)),
                };
                (media_type, validator)
            })
            .collect();
        let headers = response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, header)| ExpectedHeader {
                name: name.to_ascii_lowercase(),
                required: header["required"] == true,
                ty: header["schema"]["type"]
                    .as_str()
                    .unwrap_or("string")
                    .to_owned(),
                validator: self.compile(&header["schema"]),
            })
            .collect();
        Expected { content, headers }
    }

    /// Compiles an OpenAPI schema of this spec into a validator.
    fn compile(&self, schema: &Value) -> Validator {
        let mut document = match convert(schema) {
            Value::Object(map) => map,
            other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
        };
        document.insert("$defs".into(), self.defs.clone());
        jsonschema::draft202012::new(&Value::Object(document)).unwrap_or_else(|e| {
            panic!("the spec has a schema that does not compile: {e}\n{schema}")
        })
    }
}

/// One OpenAPI 3.0 schema as JSON Schema 2020-12 (see the module documentation).
fn convert(schema: &Value) -> Value {
    let Value::Object(source) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in source {
        let converted = match key.as_str() {
            "$ref" => Value::String(
                value
                    .as_str()
                    .unwrap_or_default()
                    .replace("#/components/schemas/", "#/$defs/"),
            ),
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), convert(property)))
                    .collect(),
            ),
            "allOf" | "oneOf" | "anyOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(convert)
                    .collect(),
            ),
            "items" | "not" | "additionalProperties" => convert(value),
            // Annotations without a JSON Schema meaning, or handled below.
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    // OpenAPI 3.0's boolean exclusive bounds are numbers in JSON Schema.
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if out.get(flag) == Some(&Value::Bool(true)) {
            match out.remove(bound) {
                Some(limit) => out.insert(flag.into(), limit),
                None => out.remove(flag),
            };
        } else if out.get(flag) == Some(&Value::Bool(false)) {
            out.remove(flag);
        }
    }
    let bounds: Option<(i64, u64)> = match out.get("format").and_then(Value::as_str) {
        Some("int32") => Some((i64::from(i32::MIN), i32::MAX as u64)),
        Some("uint32") => Some((0, u64::from(u32::MAX))),
        Some("int64") => Some((i64::MIN, i64::MAX as u64)),
        Some("uint64") => Some((0, u64::MAX)),
        _ => None,
    };
    if let Some((min, max)) = bounds
        && out.get("type") == Some(&json!("integer"))
    {
        out.entry("minimum").or_insert(json!(min));
        out.entry("maximum").or_insert(json!(max));
    }
    let closes = out.get("type") == Some(&json!("object"))
        && out.contains_key("properties")
        && !out.contains_key("additionalProperties");
    if closes {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if source.get("nullable") == Some(&Value::Bool(true)) {
        return nullable(out);
    }
    Value::Object(out)
}

/// `schema`, admitting `null` as well.
fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(items)) = schema.get_mut("enum") {
        items.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(ty)) => {
            schema.insert("type".into(), json!([ty, "null"]));
            Value::Object(schema)
        }
        _ => json!({"anyOf": [Value::Object(schema), {"type": "null"}]}),
    }
}
