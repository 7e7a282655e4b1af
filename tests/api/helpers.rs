//! The test harness: boots the real server on `127.0.0.1:0` with in-memory stand-ins for
//! ElevenLabs (or, with [`TestAppBuilder::elevenlabs`], the real HTTP adapters pointed at a
//! wiremock stand-in), and talks to it over HTTP like a webhook sender would.
//!
//! Every test gets its own server, its own stand-ins and its own configuration, so tests can
//! run in parallel and assert exactly what their request made the service do.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use precall_webhook::adapters::{InMemoryAgentConfigurator, InMemoryVoiceCloner, SystemClock};
use precall_webhook::app::config::Config;
use precall_webhook::app::startup::{Application, Backends};
use precall_webhook::app::telemetry;
use precall_webhook::domain::WebhookSecret;
use precall_webhook::ports::{Clock, VoiceCloner};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use wiremock::MockServer;

use crate::fake_elevenlabs::FakeElevenLabs;

use crate::contract;

/// The webhook secret every test app is configured with.
pub const SECRET: &str = "whsec_integration_test_secret";
/// The boundary of every multipart body the helpers build.
pub const BOUNDARY: &str = "precall-test-boundary-4f9c2d";
/// The caller every default payload is about.
pub const PHONE_NUMBER: &str = "+31612345678";
/// 2025-12-10 12:34:56 UTC, for tests that need a fixed clock.
pub const FIXED_NOW: i64 = 1_765_370_096;
/// The ElevenLabs API key of apps that talk to a mock ElevenLabs over HTTP.
pub const ELEVENLABS_API_KEY: &str = "sk_integration_test_KEY_0123456789abcdef";

/// A clock stopped at one instant, so signature windows and voice names are exact.
pub struct FixedClock(pub i64);

#[async_trait::async_trait]
impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Logs go to stdout when `TEST_LOG` is set (`TEST_LOG=1 cargo test --test api -- --nocapture`).
fn init_logs_once() {
    static GUARD: OnceLock<Option<telemetry::TelemetryGuard>> = OnceLock::new();
    GUARD.get_or_init(|| {
        std::env::var_os("TEST_LOG")?;
        let config = Config::from_vars(|_| None, true).ok()?;
        telemetry::init(&config.log).ok()
    });
}

/// A running server and the stand-ins behind it.
pub struct TestApp {
    /// Where the server listens.
    pub address: SocketAddr,
    /// A plain HTTP client (no proxy: the server is on loopback).
    pub client: reqwest::Client,
    /// The voice-cloning stand-in: what was cloned and deleted, and how to make it fail.
    /// (Sees nothing when the app talks to ElevenLabs over HTTP.)
    pub cloner: Arc<InMemoryVoiceCloner>,
    /// The agent stand-in: what was updated, and how to make it fail.
    /// (Sees nothing when the app talks to ElevenLabs over HTTP.)
    pub agents: Arc<InMemoryAgentConfigurator>,
    /// The secret the server verifies signatures with.
    pub secret: WebhookSecret,
    clock: Arc<dyn Clock>,
    /// Dropping the app drops this sender, which shuts the server down.
    _shutdown: oneshot::Sender<()>,
    /// The server's task: it ends once the shutdown has drained the work in flight.
    server: tokio::task::JoinHandle<()>,
}

/// Configures a [`TestApp`] before it starts.
pub struct TestAppBuilder {
    vars: HashMap<String, String>,
    clock: Arc<dyn Clock>,
    cloner: Option<Arc<dyn VoiceCloner>>,
    /// Use the real ElevenLabs HTTP adapters (`Backends::elevenlabs`) instead of the stand-ins.
    over_http: bool,
}

/// A server with the default test configuration and the system clock.
pub async fn spawn_app() -> TestApp {
    TestApp::builder().spawn().await
}

/// A server with some variables set on top of the default test configuration.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    TestApp::builder().vars(vars).spawn().await
}

/// A server with the real ElevenLabs adapters pointed at the stateful `fake`, its clock
/// stopped at [`FIXED_NOW`], and `vars` on top of the default test configuration.
pub async fn spawn_against_fake(fake: &FakeElevenLabs, vars: &[(&str, &str)]) -> TestApp {
    TestApp::builder()
        .clock_at(FIXED_NOW)
        .elevenlabs_at(&fake.uri())
        .vars(vars)
        .spawn()
        .await
}

impl TestAppBuilder {
    /// Sets an environment variable of the configuration.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Stops the server's clock at `unix` seconds (requests are then signed at that time).
    pub fn clock_at(mut self, unix: i64) -> Self {
        self.clock = Arc::new(FixedClock(unix));
        self
    }

    /// Gives the server another clock; the test's signatures read it too ([`TestApp::now`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Puts another voice cloner behind the server (the in-memory one then sees nothing).
    pub fn cloner(mut self, cloner: Arc<dyn VoiceCloner>) -> Self {
        self.cloner = Some(cloner);
        self
    }

    /// Puts the real ElevenLabs HTTP adapters behind the server, pointed at `mock` and sending
    /// [`ELEVENLABS_API_KEY`]. Timeouts and retries come from the `ELEVENLABS_*` variables.
    pub fn elevenlabs(self, mock: &MockServer) -> Self {
        self.elevenlabs_at(&mock.uri())
    }

    /// Sets each `(name, value)` of `vars`, as [`TestAppBuilder::var`] does.
    pub fn vars(self, vars: &[(&str, &str)]) -> Self {
        vars.iter().fold(self, |builder, (k, v)| builder.var(k, v))
    }

    /// Like [`TestAppBuilder::elevenlabs`], for any base URL (one where nothing listens, say).
    pub fn elevenlabs_at(mut self, base_url: &str) -> Self {
        self.over_http = true;
        self.var("ELEVENLABS_API_BASE_URL", base_url)
            .var("ELEVENLABS_API_KEY", ELEVENLABS_API_KEY)
    }

    /// Builds the real application, binds it and serves it on a background task.
    pub async fn spawn(self) -> TestApp {
        init_logs_once();
        let vars = self.vars;
        let config = Config::from_vars(|k| vars.get(k).cloned(), true)
            .unwrap_or_else(|e| panic!("test configuration is invalid:\n{e}"));
        let cloner = Arc::new(InMemoryVoiceCloner::new());
        let agents = Arc::new(InMemoryAgentConfigurator::new());
        let backends = if self.over_http {
            Backends {
                clock: self.clock.clone(),
                ..Backends::elevenlabs(&config).expect("the ElevenLabs HTTP adapters build")
            }
        } else {
            Backends {
                cloner: self.cloner.unwrap_or_else(|| cloner.clone()),
                agents: agents.clone(),
                clock: self.clock.clone(),
            }
        };
        let app = Application::build(&config, backends)
            .await
            .expect("the application builds");
        let address = app.address();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            address,
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            cloner,
            agents,
            secret: WebhookSecret::new(SecretString::from(SECRET)).expect("a non-empty secret"),
            clock: self.clock,
            _shutdown: shutdown,
            server,
        }
    }
}

impl TestApp {
    /// Starts configuring a server: the test secret, loopback, port 0, the system clock.
    pub fn builder() -> TestAppBuilder {
        let vars = [
            ("PRECALL_WEBHOOK_HOST", "127.0.0.1"),
            ("PRECALL_WEBHOOK_PORT", "0"),
            ("ELEVENLABS_WEBHOOK_SECRET", SECRET),
            // No sweep unless a test asks for one: it would list (and delete) behind the
            // back of tests that count ElevenLabs calls.
            ("VOICE_SWEEP_INTERVAL_SECONDS", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        TestAppBuilder {
            vars,
            clock: Arc::new(SystemClock),
            cloner: None,
            over_http: false,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The time on the server's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// A valid `elevenlabs-signature` for `body`, made now on the server's clock.
    pub fn sign(&self, body: &[u8]) -> String {
        self.secret.sign(self.now(), body)
    }

    /// A signed JSON webhook request, ready to send.
    pub fn signed_json(&self, body: &[u8]) -> reqwest::RequestBuilder {
        self.client
            .post(self.url("/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", self.sign(body))
            .body(body.to_vec())
    }

    /// POSTs `body` as signed JSON.
    pub async fn post_json(&self, body: &[u8]) -> reqwest::Response {
        send(self.signed_json(body)).await
    }

    /// POSTs a signed multipart webhook: a `metadata` part and, when given, a `voice_sample`
    /// file part named `sample.bin` of type `application/octet-stream` (so the format can only
    /// come from the bytes).
    pub async fn post_multipart(
        &self,
        metadata: &Value,
        audio: Option<&[u8]>,
    ) -> reqwest::Response {
        let metadata = metadata.to_string();
        let mut parts = vec![Part::field("metadata", metadata.as_bytes())];
        if let Some(audio) = audio {
            parts.push(Part::file("voice_sample", "sample.bin", audio));
        }
        self.post_form(&parts).await
    }

    /// POSTs signed multipart `parts`, as they are.
    pub async fn post_form(&self, parts: &[Part<'_>]) -> reqwest::Response {
        let body = multipart_body(parts);
        self.post_raw(
            &[
                ("content-type", &multipart_content_type()),
                ("elevenlabs-signature", &self.sign(&body)),
            ],
            body,
        )
        .await
    }

    /// POSTs `body` to `/webhook` with exactly these headers: nothing is signed for you.
    pub async fn post_raw(&self, headers: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
        let request = headers
            .iter()
            .fold(self.client.post(self.url("/webhook")), |request, (k, v)| {
                request.header(*k, *v)
            })
            .body(body);
        send(request).await
    }

    /// POSTs `body` to `/webhook/post-call` as JSON, signed now with the server's secret.
    pub async fn post_call(&self, body: &Value) -> reqwest::Response {
        let body = body_of(body);
        let request = self
            .client
            .post(self.url("/webhook/post-call"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", self.sign(&body))
            .body(body);
        send(request).await
    }

    /// POSTs `body` to `/webhook/conversation-initiation` with `Authorization: <authorization>`
    /// (none when `None`), as ElevenLabs does at ring time.
    pub async fn initiate(&self, authorization: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let request = self
            .client
            .post(self.url("/webhook/conversation-initiation"))
            .header("content-type", "application/json")
            .body(body);
        let request = match authorization {
            Some(value) => request.header("authorization", value),
            None => request,
        };
        send(request).await
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        send(self.client.get(self.url(path))).await
    }

    /// Writes `request` on a fresh TCP connection, keeps the connection open for writing (so
    /// the server sees a slow sender, not the end of the body), and reads one HTTP response,
    /// which is held to the spec like every other.
    pub async fn raw_tcp(&self, request: &[u8]) -> RawResponse {
        let exchange = async {
            let mut stream = TcpStream::connect(self.address).await.expect("connect");
            // A server that answers early (413) may stop reading: a failed write is fine, the
            // answer is what matters.
            if stream.write_all(request).await.is_ok() {
                let _ = stream.flush().await;
            }
            read_response(&mut stream).await
        };
        // Not a timing assertion: a guard so that a server that waits forever fails the test
        // instead of hanging it.
        let (response, raw_body) = tokio::time::timeout(Duration::from_secs(20), exchange)
            .await
            .expect("the server answered within 20 s");
        let request_line = String::from_utf8_lossy(request);
        let mut words = request_line.split_whitespace();
        let method = words.next().unwrap_or_default();
        let target = words.next().unwrap_or_default();
        let path = target.split('?').next().unwrap_or_default();
        contract::check(method, path, response.status, &response.headers, &raw_body);
        response
    }

    /// Shuts the server down as SIGTERM does and waits until it has drained: the webhooks in
    /// flight and the background clean-ups they started have finished (or the grace period is
    /// over). What the upstream holds afterwards is final.
    pub async fn stop(self) {
        let Self {
            _shutdown, server, ..
        } = self;
        drop(_shutdown);
        // Not a timing assertion: a guard so that a server that never drains fails the test.
        tokio::time::timeout(Duration::from_secs(90), server)
            .await
            .expect("the server drained within 90 s")
            .expect("the server task completes");
    }

    /// Asserts that the stand-ins saw nothing: no clone, no delete, no agent update.
    pub fn assert_nothing_reached_elevenlabs(&self) {
        assert_eq!(self.cloner.clones(), vec![], "no voice may be cloned");
        assert_eq!(self.cloner.deleted(), vec![], "no voice may be deleted");
        assert_eq!(self.agents.updates(), vec![], "no agent may be updated");
    }
}

/// One part of a multipart body.
pub struct Part<'a> {
    name: &'a str,
    file: Option<(&'a str, &'a str)>,
    data: &'a [u8],
}

impl<'a> Part<'a> {
    /// A text field.
    pub fn field(name: &'a str, data: &'a [u8]) -> Self {
        Self {
            name,
            file: None,
            data,
        }
    }

    /// A file part named `filename`, of type `application/octet-stream`.
    pub fn file(name: &'a str, filename: &'a str, data: &'a [u8]) -> Self {
        Self {
            name,
            file: Some((filename, "application/octet-stream")),
            data,
        }
    }

    /// The same file part, sent with another content type.
    pub fn typed(mut self, content_type: &'a str) -> Self {
        if let Some((_, current)) = self.file.as_mut() {
            *current = content_type;
        }
        self
    }
}

/// `multipart/form-data; boundary=…` for [`multipart_body`].
pub fn multipart_content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The exact bytes of a multipart body, built by hand so that what is signed is what is sent.
pub fn multipart_body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let head = match part.file {
            Some((filename, content_type)) => format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n",
                part.name
            ),
            None => format!(
                "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                part.name
            ),
        };
        body.extend_from_slice(head.as_bytes());
        body.extend_from_slice(part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// The pre-call webhook of the SPEC, for Ivan, without a sample.
pub fn metadata(conversation_id: &str) -> Value {
    json!({
        "type": "pre_call",
        "event_timestamp": 1_702_425_485,
        "conversation_id": conversation_id,
        "agent_id": "agent_def456uvw",
        "caller_metadata": {
            "name": "Ivan",
            "date_of_birth": "11.12.2007",
            "phone_number": PHONE_NUMBER
        }
    })
}

/// The pre-call webhook of the SPEC as a JSON body, with `audio` base64-encoded when given.
pub fn json_payload(conversation_id: &str, audio: Option<&[u8]>) -> Value {
    let mut payload = metadata(conversation_id);
    if let Some(audio) = audio {
        payload["voice_sample"] = json!({
            "format": "base64",
            "data": base64::engine::general_purpose::STANDARD.encode(audio),
            "duration_seconds": 5.2,
            "sample_rate": 16_000
        });
    }
    payload
}

/// `value` serialised, as a request body.
pub fn body_of(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON serialises")
}

/// A 16-bit PCM mono WAV of a 220 Hz tone, `seconds` long at `rate` Hz.
pub fn wav(seconds: f64, rate: u32) -> Vec<u8> {
    precall_webhook::app::tone::wav(seconds, rate)
}

/// A file from `tests/fixtures/audio`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Sends `request`, built on any client, and holds the response to the committed spec (see
/// `contract`). Every helper here sends through it; a test that builds its own request sends
/// it with this too, and so gets the check for free.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    try_send(request).await.expect("request sent")
}

/// [`send`] for a request that may fail to be sent (a server that is not up yet).
pub async fn try_send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    contract::send(request).await
}

/// The status and the JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    contract::assert_checked(&response);
    let status = response.status();
    let text = response.text().await.expect("a response body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the {status} response is not JSON ({e}): {text}"));
    (status, json)
}

/// Asserts that `response` is the SPEC's error shape with this status, code and conversation
/// id, and returns its message (never blank).
pub async fn assert_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
    conversation_id: Option<&str>,
) -> String {
    let (actual, body) = status_and_json(response).await;
    assert_error_body(actual.as_u16(), &body, status, code, conversation_id)
}

/// [`assert_error`] for a status and body read some other way (a raw TCP exchange).
pub fn assert_error_body(
    actual_status: u16,
    body: &Value,
    status: u16,
    code: &str,
    conversation_id: Option<&str>,
) -> String {
    assert_eq!(actual_status, status, "status of {body}");
    let object = body.as_object().expect("the error body is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["conversation_id", "error_code", "error_message", "status"],
        "error shape of {body}"
    );
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(
        body["conversation_id"],
        conversation_id.map_or(Value::Null, Value::from),
        "{body}"
    );
    let message = body["error_message"]
        .as_str()
        .expect("error_message is a string");
    assert!(!message.trim().is_empty(), "error_message is blank: {body}");
    message.to_owned()
}

/// A response read off a raw TCP connection.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, parsed as JSON (`Null` when it is not JSON).
    pub body: Value,
}

/// Reads one response; returns it with its body's raw bytes.
async fn read_response(stream: &mut TcpStream) -> (RawResponse, Vec<u8>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.expect("response read");
        assert!(n > 0, "connection closed before a response: {buffer:?}");
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {head:?}"));
    let content_length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    loop {
        if content_length.is_some_and(|len| buffer.len() >= header_end + len) {
            break;
        }
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let end = content_length.map_or(buffer.len(), |len| (header_end + len).min(buffer.len()));
    let raw_body = buffer[header_end..end].to_vec();
    let body = serde_json::from_slice(&raw_body).unwrap_or(Value::Null);
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((
                reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                reqwest::header::HeaderValue::from_str(value.trim()).ok()?,
            ))
        })
        .collect();
    (
        RawResponse {
            status,
            headers,
            body,
        },
        raw_body,
    )
}

/// Whether `name` is `{stem}_Clone_{YYYYMMDD}_{HHMMSS}`.
pub fn is_voice_name(name: &str, stem: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix(stem)
        .and_then(|rest| rest.strip_prefix("_Clone_"))
    else {
        return false;
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    matches!(stamp.split_once('_'), Some((date, time)) if digits(date, 8) && digits(time, 6))
}

/// Asserts the SPEC's success for the default payload (Ivan, with `sample`): the response,
/// exactly one clone of exactly these bytes, and one agent update with that voice and the
/// default greeting. Returns the response body.
pub async fn assert_ivan_personalised(
    app: &TestApp,
    response: reqwest::Response,
    conversation_id: &str,
    sample: &[u8],
) -> Value {
    contract::assert_checked(&response);
    let status = response.status();
    let text = response.text().await.expect("a response body");
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        !text.contains(PHONE_NUMBER) && !text.contains("31612345678") && !text.contains("phone"),
        "the phone number is never echoed: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("a JSON body");

    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 1, "exactly one clone");
    let clone = &clones[0];
    assert!(
        clone.bytes == sample,
        "the clone got the sample's exact bytes"
    );
    assert_eq!(clone.conversation_id.as_str(), conversation_id);
    assert_eq!(clone.agent_id.as_str(), "agent_def456uvw");

    assert_eq!(body["status"], "success");
    assert_eq!(body["conversation_id"], conversation_id);
    assert_eq!(body["voice_id"], clone.voice_id.as_str());
    let voice_name = body["voice_name"].as_str().expect("a voice name");
    assert!(is_voice_name(voice_name, "Ivan"), "voice name {voice_name}");
    assert_eq!(clone.name, voice_name);
    assert_eq!(body["agent_updated"], true);
    assert_eq!(
        body["caller_info"],
        json!({"Name": "Ivan", "DateOfBirth": "11.12.2007"})
    );
    assert!(body["processing_time_ms"].is_u64(), "{body}");

    let updates = app.agents.updates();
    assert_eq!(updates.len(), 1, "exactly one agent update");
    assert_eq!(updates[0].agent_id.as_str(), "agent_def456uvw");
    assert_eq!(updates[0].update.voice_id.as_ref(), Some(&clone.voice_id));
    assert_eq!(
        updates[0].update.first_message.as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
    assert_eq!(app.cloner.deleted(), vec![], "nothing is rolled back");
    body
}

/// A local port where nothing listens, held for as long as this value lives: the socket is bound
/// but never listens, so a connection is refused, and no other test's server (binding port 0
/// in parallel) can take the port meanwhile — as it could a port bound and then released.
pub struct NothingListens {
    _socket: tokio::net::TcpSocket,
    /// `127.0.0.1:PORT`.
    pub address: SocketAddr,
}

impl NothingListens {
    /// Binds the port and keeps it.
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("a free port");
        let address = socket.local_addr().expect("a local address");
        Self {
            _socket: socket,
            address,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}
