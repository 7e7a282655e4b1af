//! The floor: a minimal hand-written hyper 1.x service doing only the essential work of a
//! pre-call webhook, and nothing else — no audio probe, no delivery ledger, no voice registry,
//! no logs, no metrics, no limiter or breaker, no retries.
//!
//! Per `POST /webhook`: read the body (under a cap), HMAC-SHA256 of `t.` + raw body checked in
//! constant time against `elevenlabs-signature: t=…,v0=…` (and its ±30 minute window; a bad
//! signature gets `401` right there), parse the JSON (borrowing its strings, as a careful
//! hand-written service would) and base64-decode `voice_sample.data` — or, for multipart, read
//! the `metadata` and `voice_sample` parts with `multer` —, then `POST /v1/voices/add`
//! (multipart upload of the sample) and `PATCH /v1/convai/agents/{id}` on the upstream with
//! one pooled reqwest client (rustls, as the service's), and answer `200` with a small JSON.
//!
//! It runs as its own process: the floor bench starts its own executable with
//! [`SERVE_FLAG`], so that `cargo bench` never runs a server that does not stop.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use sha2::Sha256;

/// The argument that makes the floor bench's executable serve the baseline:
/// `SERVE_FLAG PORT UPSTREAM_URL`.
pub const SERVE_FLAG: &str = "--serve-baseline";

/// `FLOOR_BASELINE_RUNTIME=current-thread` serves the baseline on tokio's current-thread
/// runtime, the one the service picks on one core; by default it runs on the multi-thread
/// runtime `#[tokio::main]` gives, as the baseline the issue measured against did. The bench
/// passes its environment on to the baseline's process.
const RUNTIME_VAR: &str = "FLOOR_BASELINE_RUNTIME";

/// The largest body read, as the service's default (a 10 MB sample in base64, with slack).
const MAX_BODY_BYTES: usize = 20_000_000;
/// How far the signature's timestamp may be from our clock, seconds.
const TOLERANCE_SECONDS: u64 = 30 * 60;
const API_KEY: &str = "sk_bench";

struct State {
    http: reqwest::Client,
    upstream: String,
    secret: &'static [u8],
}

fn on_current_thread() -> bool {
    std::env::var(RUNTIME_VAR).is_ok_and(|runtime| runtime == "current-thread")
}

/// Which tokio runtime the baseline runs on, as [`RUNTIME_VAR`] says.
pub fn runtime_name() -> &'static str {
    if on_current_thread() {
        "current-thread (FLOOR_BASELINE_RUNTIME)"
    } else {
        "multi-thread"
    }
}

/// Serves the baseline on `127.0.0.1:port` against `upstream` until killed.
pub fn serve(port: u16, upstream: String) {
    let mut builder = if on_current_thread() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("baseline: no runtime: {e}"),
    };
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(e) => panic!("baseline: cannot bind port {port}: {e}"),
        };
        let state = Arc::new(State {
            http: reqwest::Client::new(),
            upstream,
            secret: super::support::SECRET.as_bytes(),
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let service = service_fn(move |request| handle(Arc::clone(&state), request));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    answer(
        status,
        format!(r#"{{"status":"error","error_code":"{code}"}}"#),
    )
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/health") => {
            Ok(answer(StatusCode::OK, r#"{"status":"healthy"}"#.to_owned()))
        }
        (&Method::POST, "/webhook") => Ok(webhook(&state, request).await),
        _ => Ok(error(StatusCode::NOT_FOUND, "NOT_FOUND")),
    }
}

async fn webhook(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (signature, content_type) = (header("elevenlabs-signature"), header("content-type"));
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
    };
    if !verify(state.secret, signature.as_deref(), &body) {
        return error(StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE");
    }
    let content_type = content_type.unwrap_or_default();
    let (metadata, sample) = if content_type.starts_with("multipart/form-data") {
        match read_multipart(&content_type, body).await {
            Some(parts) => parts,
            None => return error(StatusCode::BAD_REQUEST, "INVALID_PAYLOAD"),
        }
    } else {
        (body, None)
    };
    let Ok(payload) = serde_json::from_slice::<Payload<'_>>(&metadata) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_PAYLOAD");
    };
    if payload.event_type != "pre_call" {
        return error(StatusCode::BAD_REQUEST, "INVALID_PAYLOAD");
    }
    let sample = match (payload.voice_sample, sample) {
        (Some(json), _) => match base64::engine::general_purpose::STANDARD.decode(&*json.data) {
            Ok(bytes) => Some(Bytes::from(bytes)),
            Err(_) => return error(StatusCode::BAD_REQUEST, "INVALID_PAYLOAD"),
        },
        (None, file) => file,
    };
    let name = payload
        .caller_metadata
        .and_then(|c| c.name)
        .unwrap_or(Cow::Borrowed("Caller"));
    personalise(
        state,
        &payload.conversation_id,
        &payload.agent_id,
        &name,
        sample,
    )
    .await
}

/// `t=…,v0=…` against `t.` + `body`, in constant time, within the window.
fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> bool {
    let Some(header) = header else {
        return false;
    };
    let (mut timestamp, mut digest) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v0", v)) => digest = Some(v),
            _ => {}
        }
    }
    let (Some(timestamp), Some(digest)) = (timestamp, digest) else {
        return false;
    };
    let mut expected = [0u8; 32];
    let (Ok(t), Ok(())) = (
        timestamp.parse::<u64>(),
        hex::decode_to_slice(digest, &mut expected),
    ) else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if now.abs_diff(t) > TOLERANCE_SECONDS {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The `metadata` and `voice_sample` parts.
async fn read_multipart(content_type: &str, body: Bytes) -> Option<(Bytes, Option<Bytes>)> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let (mut metadata, mut sample) = (None, None);
    while let Some(field) = multipart.next_field().await.ok()? {
        match field.name() {
            Some("metadata") => metadata = Some(field.bytes().await.ok()?),
            Some("voice_sample") => sample = Some(field.bytes().await.ok()?),
            _ => {}
        }
    }
    Some((metadata?, sample))
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    #[serde(borrow)]
    conversation_id: Cow<'a, str>,
    #[serde(borrow)]
    agent_id: Cow<'a, str>,
    #[serde(borrow)]
    caller_metadata: Option<Caller<'a>>,
    #[serde(borrow)]
    voice_sample: Option<Sample<'a>>,
}

#[derive(Deserialize)]
struct Caller<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Sample<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Added {
    voice_id: String,
}

/// Clones the voice (when there is a sample) and patches the agent.
async fn personalise(
    state: &State,
    conversation_id: &str,
    agent_id: &str,
    name: &str,
    sample: Option<Bytes>,
) -> Response<Full<Bytes>> {
    let unavailable = || error(StatusCode::BAD_GATEWAY, "UPSTREAM_UNAVAILABLE");
    let voice_id = match sample {
        Some(sample) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let length = sample.len() as u64;
            let Ok(file) =
                reqwest::multipart::Part::stream_with_length(reqwest::Body::from(sample), length)
                    .file_name("sample.wav")
                    .mime_str("audio/wav")
            else {
                return unavailable();
            };
            let labels = serde_json::json!({
                "source": "precall-webhook",
                "conversation_id": conversation_id,
                "agent_id": agent_id,
            });
            let form = reqwest::multipart::Form::new()
                .text("name", format!("{name}_Clone_{now}"))
                .part("files", file)
                .text(
                    "description",
                    format!("Pre-call voice clone for conversation {conversation_id}"),
                )
                .text("labels", labels.to_string())
                .text("remove_background_noise", "false");
            let response = state
                .http
                .post(format!("{}/v1/voices/add", state.upstream))
                .header("xi-api-key", API_KEY)
                .multipart(form)
                .send()
                .await;
            let added = match response {
                Ok(r) if r.status().is_success() => r.json::<Added>().await,
                _ => return unavailable(),
            };
            match added {
                Ok(added) => Some(added.voice_id),
                Err(_) => return unavailable(),
            }
        }
        None => None,
    };
    let update = serde_json::json!({"conversation_config": {
        "tts": {"voice_id": voice_id},
        "agent": {"first_message": format!("Hallo {name}, fijn dat je belt!")},
    }});
    let response = state
        .http
        .patch(format!("{}/v1/convai/agents/{agent_id}", state.upstream))
        .header("xi-api-key", API_KEY)
        .json(&update)
        .send()
        .await;
    match response {
        Ok(r) if r.status().is_success() => {
            // Read the answer to the end, so the connection goes back to the pool.
            if r.bytes().await.is_err() {
                return unavailable();
            }
        }
        _ => return unavailable(),
    }
    answer(
        StatusCode::OK,
        serde_json::json!({
            "status": "success",
            "conversation_id": conversation_id,
            "voice_id": voice_id,
            "agent_updated": true,
        })
        .to_string(),
    )
}
