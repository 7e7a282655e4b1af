//! The real ElevenLabs HTTP adapters behind the real server, with a wiremock stand-in for
//! ElevenLabs: what reaches ElevenLabs for a webhook (proved with `expect` and
//! `received_requests`), and how each of its answers becomes a row of the SPEC's error table.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{
    ELEVENLABS_API_KEY, FIXED_NOW, NothingListens, TestApp, assert_error, body_of, fixture,
    json_payload, metadata, status_and_json,
};

/// The agent every webhook here is for.
const AGENT_ID: &str = "agent_1";
/// The voice the mock says it created.
const VOICE_ID: &str = "voice_abc";
const CLONE_PATH: &str = "/v1/voices/add";
const AGENT_PATH: &str = "/v1/convai/agents/agent_1";
const VOICE_PATH: &str = "/v1/voices/voice_abc";
/// The default greeting for Ivan.
const GREETING: &str = "Hallo Ivan, fijn dat je belt!";
/// Ivan's voice name at [`FIXED_NOW`] (2025-12-10 12:34:56 UTC).
const VOICE_NAME: &str = "Ivan_Clone_20251210_123456";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// The app with the real ElevenLabs adapters pointed at `mock`, its clock at [`FIXED_NOW`],
/// and `vars` on top of the test configuration.
async fn spawn_against(mock: &MockServer, vars: &[(&str, &str)]) -> TestApp {
    TestApp::builder()
        .clock_at(FIXED_NOW)
        .elevenlabs(mock)
        .vars(vars)
        .spawn()
        .await
}

/// Not a timing assertion: a guard so that a service that waits forever fails the test
/// instead of hanging it.
async fn guarded<T>(work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .expect("the service answered within 60 s")
}

/// How the webhook carries its sample.
#[derive(Clone, Copy, Debug)]
enum Body {
    /// `application/json`, the sample base64-encoded.
    Json,
    /// `multipart/form-data`, the sample as a file part.
    Multipart,
}

/// Ivan's pre-call webhook for [`AGENT_ID`], without a sample.
fn ivan(conversation_id: &str) -> Value {
    let mut metadata = metadata(conversation_id);
    metadata["agent_id"] = json!(AGENT_ID);
    metadata
}

/// POSTs Ivan's signed webhook for [`AGENT_ID`], carrying `audio` as `body` says.
async fn post_ivan(
    app: &TestApp,
    body: Body,
    conversation_id: &str,
    audio: Option<&[u8]>,
) -> reqwest::Response {
    guarded(async {
        match body {
            Body::Json => {
                let mut payload = json_payload(conversation_id, audio);
                payload["agent_id"] = json!(AGENT_ID);
                app.post_json(&body_of(&payload)).await
            }
            Body::Multipart => app.post_multipart(&ivan(conversation_id), audio).await,
        }
    })
    .await
}

/// POSTs Ivan's webhook as JSON with the 5-second WAV fixture.
async fn post_ivan_with_wav(app: &TestApp, conversation_id: &str) -> reqwest::Response {
    post_ivan(
        app,
        Body::Json,
        conversation_id,
        Some(&fixture("voice_5s.wav")),
    )
    .await
}

/// `POST /v1/voices/add`.
fn clone_call() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path(CLONE_PATH))
}

/// `PATCH /v1/convai/agents/agent_1`.
fn agent_call() -> wiremock::MockBuilder {
    Mock::given(method("PATCH")).and(path(AGENT_PATH))
}

/// Any `DELETE`: a rollback of any voice.
fn any_delete() -> wiremock::MockBuilder {
    Mock::given(method("DELETE"))
}

/// `DELETE /v1/voices/voice_abc`.
fn delete_call() -> wiremock::MockBuilder {
    Mock::given(method("DELETE")).and(path(VOICE_PATH))
}

/// ElevenLabs' answer to a successful clone: `AddVoiceIVCResponseModel`.
fn voice_created() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"voice_id": VOICE_ID, "requires_verification": false}))
}

/// ElevenLabs' answer to a successful agent update.
fn agent_updated() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({}))
}

/// ElevenLabs' business-error shape.
fn business_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"detail": {"status": code, "message": message}}))
}

/// What `mock` received for `method_name` on `url_path`, in order.
async fn requests_to(mock: &MockServer, method_name: &str, url_path: &str) -> Vec<Request> {
    mock.received_requests()
        .await
        .expect("the mock records requests")
        .into_iter()
        .filter(|r| r.method.as_str() == method_name && r.url.path() == url_path)
        .collect()
}

/// The one request `mock` received for `method_name` on `url_path`.
async fn the_request_to(mock: &MockServer, method_name: &str, url_path: &str) -> Request {
    let mut requests = requests_to(mock, method_name, url_path).await;
    assert_eq!(
        requests.len(),
        1,
        "exactly one {method_name} {url_path} reached ElevenLabs"
    );
    requests.remove(0)
}

fn header_of<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("a text header")
}

/// One part of a multipart body ElevenLabs received.
#[derive(Debug)]
struct FormPart {
    name: String,
    file_name: Option<String>,
    bytes: Bytes,
}

/// The parts of a received `multipart/form-data` body, in order.
async fn form_parts(request: &Request) -> Vec<FormPart> {
    let boundary = multer::parse_boundary(header_of(request, "content-type"))
        .expect("a multipart content type with a boundary");
    let body = Bytes::from(request.body.clone());
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.expect("a well-formed part") {
        parts.push(FormPart {
            name: field.name().unwrap_or_default().to_owned(),
            file_name: field.file_name().map(str::to_owned),
            bytes: field.bytes().await.expect("the part's bytes"),
        });
    }
    parts
}

/// The one part called `name`.
fn part<'a>(parts: &'a [FormPart], name: &str) -> &'a FormPart {
    let mut matching = parts.iter().filter(|p| p.name == name);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("no `{name}` part in {parts:?}"));
    assert!(matching.next().is_none(), "more than one `{name}` part");
    found
}

/// The JSON body of a received request.
fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap_or_else(|e| {
        panic!(
            "the body is not JSON ({e}): {}",
            String::from_utf8_lossy(&request.body)
        )
    })
}

/// The JSON value of `text`, for expectations written the way the SPEC writes them.
fn expected(text: &str) -> Value {
    serde_json::from_str(text).expect("the expectation is JSON")
}

/// Mounts a catch-all that fails the test if anything at all reaches ElevenLabs.
async fn nothing_may_reach(mock: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .named("nothing may reach ElevenLabs")
        .expect(0)
        .mount(mock)
        .await;
}

/// Asserts that the mock received no request at all (and that its expectations hold).
async fn assert_nothing_reached(mock: &MockServer) {
    mock.verify().await;
    let received = mock
        .received_requests()
        .await
        .expect("the mock records requests");
    assert!(
        received.is_empty(),
        "nothing may reach ElevenLabs, but it received {received:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Happy paths: what reaches ElevenLabs
// ---------------------------------------------------------------------------------------------

/// Posts Ivan's webhook with `fixture_name` carried as `body`, and asserts the whole exchange
/// with ElevenLabs: one clone with the sample byte for byte as `sample.{extension}`, one agent
/// PATCH with the new voice and the greeting, no delete, and our 200.
async fn clones_the_sample_and_personalises_the_agent(
    body: Body,
    fixture_name: &str,
    extension: &str,
) {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created())
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(1)
        .mount(&mock)
        .await;
    any_delete()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;
    let audio = fixture(fixture_name);
    let conversation_id = format!("conv_happy_{extension}_{body:?}");

    let response = post_ivan(&app, body, &conversation_id, Some(&audio)).await;

    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(
        answer["conversation_id"],
        conversation_id.as_str(),
        "{answer}"
    );
    assert_eq!(answer["voice_id"], VOICE_ID, "{answer}");
    assert_eq!(answer["voice_name"], VOICE_NAME, "{answer}");
    assert_eq!(answer["agent_updated"], true, "{answer}");

    let clone = the_request_to(&mock, "POST", CLONE_PATH).await;
    assert_eq!(header_of(&clone, "xi-api-key"), ELEVENLABS_API_KEY);
    let parts = form_parts(&clone).await;
    let files = part(&parts, "files");
    assert_eq!(
        files.file_name.as_deref(),
        Some(format!("sample.{extension}").as_str()),
        "the file part is named after the format measured from the bytes"
    );
    assert!(
        files.bytes == audio,
        "the clone carries the sample byte for byte ({} bytes sent, {} received)",
        audio.len(),
        files.bytes.len()
    );
    assert_eq!(part(&parts, "name").bytes, VOICE_NAME.as_bytes());

    let patch = the_request_to(&mock, "PATCH", AGENT_PATH).await;
    assert_eq!(header_of(&patch, "xi-api-key"), ELEVENLABS_API_KEY);
    assert!(header_of(&patch, "content-type").starts_with("application/json"));
    assert_eq!(
        json_body(&patch),
        expected(
            r#"{"conversation_config":{"tts":{"voice_id":"voice_abc"},"agent":{"first_message":"Hallo Ivan, fijn dat je belt!"}}}"#
        )
    );
    mock.verify().await;
}

#[tokio::test]
async fn a_wav_sample_in_json_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting() {
    clones_the_sample_and_personalises_the_agent(Body::Json, "voice_5s.wav", "wav").await;
}

#[tokio::test]
async fn an_mp3_sample_in_json_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting() {
    clones_the_sample_and_personalises_the_agent(Body::Json, "voice_5s_xing_id3.mp3", "mp3").await;
}

#[tokio::test]
async fn an_ogg_sample_in_json_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting() {
    clones_the_sample_and_personalises_the_agent(Body::Json, "voice_5s.ogg", "ogg").await;
}

#[tokio::test]
async fn a_wav_sample_in_multipart_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting()
{
    clones_the_sample_and_personalises_the_agent(Body::Multipart, "voice_5s.wav", "wav").await;
}

#[tokio::test]
async fn an_mp3_sample_in_multipart_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting()
{
    clones_the_sample_and_personalises_the_agent(Body::Multipart, "voice_5s_xing_id3.mp3", "mp3")
        .await;
}

#[tokio::test]
async fn an_ogg_sample_in_multipart_is_cloned_on_elevenlabs_and_put_on_the_agent_with_the_greeting()
{
    clones_the_sample_and_personalises_the_agent(Body::Multipart, "voice_5s.ogg", "ogg").await;
}

#[tokio::test]
async fn without_a_sample_nothing_is_cloned_and_only_the_greeting_is_patched_onto_the_agent() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created())
        .expect(0)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(1)
        .mount(&mock)
        .await;
    any_delete()
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let response = post_ivan(&app, Body::Json, "conv_no_sample", None).await;

    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["voice_id"], Value::Null, "{answer}");
    assert_eq!(answer["voice_name"], Value::Null, "{answer}");
    assert_eq!(answer["agent_updated"], true, "{answer}");
    let patch = the_request_to(&mock, "PATCH", AGENT_PATH).await;
    assert_eq!(header_of(&patch, "xi-api-key"), ELEVENLABS_API_KEY);
    assert_eq!(
        json_body(&patch),
        json!({"conversation_config": {"agent": {"first_message": GREETING}}})
    );
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// ElevenLabs refuses: 422
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_full_voice_library_is_422_voice_cloning_failed_with_elevenlabs_reason_and_no_agent_update()
 {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(business_error(
            400,
            "voice_limit_reached",
            "You have reached your maximum amount of custom voices",
        ))
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(0)
        .mount(&mock)
        .await;
    any_delete()
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let message = assert_error(
        post_ivan_with_wav(&app, "conv_voice_limit").await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_voice_limit"),
    )
    .await;

    assert!(
        message.contains("voice_limit_reached: You have reached"),
        "{message}"
    );
    mock.verify().await;
}

#[tokio::test]
async fn a_clone_elevenlabs_finds_invalid_is_422_voice_cloning_failed_with_the_validation_errors() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "detail": [{"loc": ["body", "files", 0], "msg": "Expected UploadFile", "type": "value_error"}]
        })))
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let message = assert_error(
        post_ivan_with_wav(&app, "conv_validation").await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_validation"),
    )
    .await;

    assert!(message.contains("validation error:"), "{message}");
    assert!(message.contains("Expected UploadFile"), "{message}");
    mock.verify().await;
}

#[tokio::test]
async fn an_invalid_api_key_is_422_voice_cloning_failed_and_the_key_appears_nowhere_in_the_answer()
{
    let mock = MockServer::start().await;
    // An upstream that echoes the key it was sent: our answer still must not repeat it.
    clone_call()
        .respond_with(business_error(
            401,
            "invalid_api_key",
            &format!("Invalid API key: '{ELEVENLABS_API_KEY}'"),
        ))
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let response = post_ivan_with_wav(&app, "conv_bad_key").await;

    let status = response.status();
    let text = response.text().await.expect("a response body");
    assert!(
        !text.contains(ELEVENLABS_API_KEY),
        "the API key leaked into the answer: {text}"
    );
    let answer: Value = serde_json::from_str(&text).expect("a JSON answer");
    let message = crate::helpers::assert_error_body(
        status.as_u16(),
        &answer,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_bad_key"),
    );
    assert!(message.contains("invalid_api_key"), "{message}");
    assert!(!message.contains(ELEVENLABS_API_KEY), "{message}");
    mock.verify().await;
}

#[tokio::test]
async fn an_unknown_agent_is_422_agent_update_failed_and_the_new_voice_is_deleted_exactly_once() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created())
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Agent not found"})),
        )
        .expect(1)
        .mount(&mock)
        .await;
    delete_call()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let message = assert_error(
        post_ivan_with_wav(&app, "conv_unknown_agent").await,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_unknown_agent"),
    )
    .await;

    assert!(message.contains("Agent not found"), "{message}");
    let delete = the_request_to(&mock, "DELETE", VOICE_PATH).await;
    assert_eq!(header_of(&delete, "xi-api-key"), ELEVENLABS_API_KEY);
    mock.verify().await;
}

#[tokio::test]
async fn a_refused_agent_update_whose_rollback_fails_is_still_422_agent_update_failed() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created())
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(business_error(
            400,
            "invalid_first_message",
            "first_message is too long",
        ))
        .expect(1)
        .mount(&mock)
        .await;
    delete_call()
        .respond_with(ResponseTemplate::new(500))
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[("ELEVENLABS_MAX_RETRIES", "2")]).await;

    let message = assert_error(
        post_ivan_with_wav(&app, "conv_orphan").await,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_orphan"),
    )
    .await;

    assert!(message.contains("first_message is too long"), "{message}");
    let deletes = requests_to(&mock, "DELETE", VOICE_PATH).await.len();
    assert!(
        (2..=3).contains(&deletes),
        "the failing delete is retried, within the retry policy (1 + 2 retries): {deletes} DELETEs"
    );
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// ElevenLabs fails: retries, then 502
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_agent_update_failing_with_500_is_retried_read_back_then_502_and_the_new_voice_is_deleted()
 {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created())
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(ResponseTemplate::new(500))
        .expect(2)
        .mount(&mock)
        .await;
    // Read once before the first PATCH (to put the agent back one day), and again because the
    // PATCH may have been applied: it still has its own voice.
    Mock::given(method("GET"))
        .and(path(AGENT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "agent_id": "agent_def456uvw",
            "conversation_config": {"tts": {"voice_id": "the_agents_own_voice"}}
        })))
        .expect(2)
        .mount(&mock)
        .await;
    delete_call()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[("ELEVENLABS_MAX_RETRIES", "1")]).await;

    assert_error(
        post_ivan_with_wav(&app, "conv_agent_500").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_agent_500"),
    )
    .await;

    assert_eq!(
        requests_to(&mock, "PATCH", AGENT_PATH).await.len(),
        2,
        "one attempt and one retry"
    );
    mock.verify().await;
}

#[tokio::test]
async fn a_clone_failing_with_503_is_retried_max_retries_times_then_502_and_the_agent_is_left_alone()
 {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(0)
        .mount(&mock)
        .await;
    any_delete()
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&mock)
        .await;
    // A 503 may have created the voice: before each retry the voice list is checked, and after
    // the 502 the clean-up keeps looking in the background.
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"voices": []})))
        .expect(2..)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[("ELEVENLABS_MAX_RETRIES", "2")]).await;

    assert_error(
        post_ivan_with_wav(&app, "conv_clone_503").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_clone_503"),
    )
    .await;

    assert_eq!(
        requests_to(&mock, "POST", CLONE_PATH).await.len(),
        3,
        "one attempt and ELEVENLABS_MAX_RETRIES=2 retries"
    );
    mock.verify().await;
}

#[tokio::test]
async fn a_clone_answered_429_once_is_retried_and_the_webhook_succeeds() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(business_error(
            429,
            "too_many_concurrent_requests",
            "Too many concurrent requests",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&mock)
        .await;
    clone_call()
        .respond_with(voice_created())
        .expect(1)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(1)
        .mount(&mock)
        .await;
    let app = spawn_against(&mock, &[]).await;

    let response = post_ivan_with_wav(&app, "conv_clone_429").await;

    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["voice_id"], VOICE_ID, "{answer}");
    assert_eq!(answer["agent_updated"], true, "{answer}");
    assert_eq!(requests_to(&mock, "POST", CLONE_PATH).await.len(), 2);
    mock.verify().await;
}

#[tokio::test]
async fn an_elevenlabs_slower_than_the_deadline_is_502_upstream_unavailable() {
    let mock = MockServer::start().await;
    clone_call()
        .respond_with(voice_created().set_delay(Duration::from_secs(5)))
        .expect(1..)
        .mount(&mock)
        .await;
    agent_call()
        .respond_with(agent_updated())
        .expect(0)
        .mount(&mock)
        .await;
    let app = spawn_against(
        &mock,
        &[
            ("ELEVENLABS_TIMEOUT_SECONDS", "0.5"),
            ("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "0.1"),
        ],
    )
    .await;

    let message = assert_error(
        post_ivan_with_wav(&app, "conv_slow").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_slow"),
    )
    .await;

    assert!(!message.contains(ELEVENLABS_API_KEY), "{message}");
    mock.verify().await;
}

#[tokio::test]
async fn an_unreachable_elevenlabs_is_502_upstream_unavailable() {
    let nothing = NothingListens::new();
    let app = TestApp::builder()
        .clock_at(FIXED_NOW)
        .elevenlabs_at(&nothing.url())
        .var("ELEVENLABS_MAX_RETRIES", "1")
        .spawn()
        .await;

    assert_error(
        post_ivan_with_wav(&app, "conv_unreachable").await,
        502,
        "UPSTREAM_UNAVAILABLE",
        Some("conv_unreachable"),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Refused requests never reach ElevenLabs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_webhook_with_a_bad_signature_makes_no_call_to_elevenlabs() {
    let mock = MockServer::start().await;
    nothing_may_reach(&mock).await;
    let app = spawn_against(&mock, &[]).await;
    let body = body_of(&json_payload(
        "conv_bad_signature",
        Some(&fixture("voice_5s.wav")),
    ));
    let forged = format!("t={FIXED_NOW},v0={}", "0".repeat(64));

    let response = guarded(app.post_raw(
        &[
            ("content-type", "application/json"),
            ("elevenlabs-signature", &forged),
        ],
        body,
    ))
    .await;

    assert_error(response, 401, "INVALID_SIGNATURE", None).await;
    assert_nothing_reached(&mock).await;
}

#[tokio::test]
async fn an_invalid_payload_makes_no_call_to_elevenlabs() {
    let mock = MockServer::start().await;
    nothing_may_reach(&mock).await;
    let app = spawn_against(&mock, &[]).await;
    let mut payload = json_payload("conv_wrong_type", Some(&fixture("voice_5s.wav")));
    payload["type"] = json!("post_call_transcription");

    let response = guarded(app.post_json(&body_of(&payload))).await;

    assert_error(response, 400, "INVALID_PAYLOAD", Some("conv_wrong_type")).await;
    assert_nothing_reached(&mock).await;
}

#[tokio::test]
async fn a_too_short_sample_makes_no_call_to_elevenlabs() {
    let mock = MockServer::start().await;
    nothing_may_reach(&mock).await;
    let app = spawn_against(&mock, &[]).await;

    let response = post_ivan(
        &app,
        Body::Json,
        "conv_too_short",
        Some(&fixture("voice_1s.wav")),
    )
    .await;

    let message = assert_error(
        response,
        400,
        "INVALID_VOICE_SAMPLE",
        Some("conv_too_short"),
    )
    .await;
    assert!(message.contains("too short"), "{message}");
    assert_nothing_reached(&mock).await;
}
