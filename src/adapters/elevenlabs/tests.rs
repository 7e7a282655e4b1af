//! The ElevenLabs adapter against a wiremock stand-in: what reaches the server (checked
//! against ElevenLabs' published OpenAPI spec), how answers and failures map onto
//! [`UpstreamError`], the retry loop, the deadline, and that the API key never leaks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::agents::patch_body;
use super::*;
use crate::domain::{
    AgentId, ConversationId, SampleLimits, UtcDateTime, VoiceId, VoiceName, VoiceSample,
};
use crate::ports::{AgentConfigurator, AgentUpdate, CloneRequest, UpstreamError, VoiceCloner};

const API_KEY: &str = "sk_test_SECRET123";
/// A copy of ElevenLabs' published OpenAPI excerpt (see tests/fixtures/elevenlabs).
const OPENAPI_EXCERPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/elevenlabs/openapi-excerpt.json"
);
const MP3_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/audio/voice_5s_xing_id3.mp3"
);
const CONVERSATION_ID: &str = "conv_01jx9k2m3n";
const AGENT_ID: &str = "agent_1";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn config(base_url: String, max_retries: u32) -> ElevenLabsConfig {
    ElevenLabsConfig {
        base_url,
        api_key: SecretString::from(API_KEY),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
    }
}

fn client_for(base_url: String, max_retries: u32) -> ElevenLabsClient {
    ElevenLabsClient::new(config(base_url, max_retries)).unwrap()
}

/// A mock ElevenLabs and a client pointed at it that retries twice.
async fn setup() -> (MockServer, ElevenLabsClient) {
    let server = MockServer::start().await;
    let client = client_for(server.uri(), 2);
    (server, client)
}

fn in_secs(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

/// A `seconds`-long 16-bit mono PCM WAV at 8 kHz.
fn wav(seconds: u32) -> Bytes {
    Bytes::from(crate::app::tone::wav(f64::from(seconds), 8_000))
}

fn sample(bytes: Bytes) -> VoiceSample {
    VoiceSample::probe(
        bytes,
        &SampleLimits {
            min_duration_seconds: 3.0,
            max_bytes: 10_000_000,
        },
    )
    .unwrap()
}

/// The owned values a [`CloneRequest`] borrows.
struct CloneFixture {
    name: VoiceName,
    sample: VoiceSample,
    conversation_id: ConversationId,
    agent_id: AgentId,
}

impl CloneFixture {
    fn of(sample: VoiceSample) -> Self {
        Self {
            // 2025-12-10 12:34:56 UTC
            name: VoiceName::for_caller(Some("Ivan"), UtcDateTime::from_unix(1_765_370_096)),
            sample,
            conversation_id: ConversationId::parse(CONVERSATION_ID).unwrap(),
            agent_id: AgentId::parse(AGENT_ID).unwrap(),
        }
    }

    fn wav() -> Self {
        Self::of(sample(wav(5)))
    }

    fn request(&self, deadline: Instant) -> CloneRequest<'_> {
        CloneRequest {
            name: &self.name,
            sample: &self.sample,
            conversation_id: &self.conversation_id,
            agent_id: &self.agent_id,
            deadline,
        }
    }
}

fn voice(id: &str) -> VoiceId {
    VoiceId::parse(id).unwrap()
}

fn agent() -> AgentId {
    AgentId::parse(AGENT_ID).unwrap()
}

fn voice_and_greeting() -> AgentUpdate {
    AgentUpdate {
        voice_id: Some(voice("v1")),
        first_message: Some("Hallo Ivan".into()),
    }
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"voice_id": "c38kUX8pkfYO2kHyqfFy", "requires_verification": false}))
}

fn business_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"detail": {"status": code, "message": message}}))
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

/// The clone requests only (not the voice-list look-ups that follow an uncertain failure).
async fn received_clones(server: &MockServer) -> Vec<Request> {
    received(server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect()
}

/// `GET /v2/voices` answers with `voices`.
async fn voice_list(server: &MockServer, voices: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"voices": voices, "has_more": false, "total_count": 0})),
        )
        .mount(server)
        .await;
}

fn header_of<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// One part of a received multipart body.
#[derive(Debug)]
struct FormPart {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Bytes,
}

impl FormPart {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap()
    }
}

/// Parses a received `multipart/form-data` body with `multer`, in order.
async fn form_parts(request: &Request) -> Vec<FormPart> {
    let boundary = multer::parse_boundary(header_of(request, "content-type")).unwrap();
    let body = Bytes::from(request.body.clone());
    let stream = futures_util::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        parts.push(FormPart {
            name: field.name().unwrap().to_owned(),
            file_name: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(ToString::to_string),
            bytes: field.bytes().await.unwrap(),
        });
    }
    parts
}

fn part<'a>(parts: &'a [FormPart], name: &str) -> &'a FormPart {
    let mut matching = parts.iter().filter(|p| p.name == name);
    let found = matching
        .next()
        .unwrap_or_else(|| panic!("no `{name}` part"));
    assert!(matching.next().is_none(), "more than one `{name}` part");
    found
}

fn openapi() -> Value {
    let text = std::fs::read_to_string(OPENAPI_EXCERPT)
        .unwrap_or_else(|e| panic!("cannot read the OpenAPI excerpt {OPENAPI_EXCERPT}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A schema by name; the docs' Fern overrides (which type `conversation_config` precisely)
/// win over the raw spec, as they do for ElevenLabs' SDKs.
fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec["fern_overrides"]
        .get(name)
        .or_else(|| spec["components"]["schemas"].get(name))
        .unwrap_or_else(|| panic!("no schema {name} in the excerpt"))
}

/// Every key of `value` is a property of the schema, recursively through `$ref`s; string
/// properties hold strings.
fn assert_fits_schema(spec: &Value, value: &Value, schema_name: &str, at: &str) {
    let properties = schema(spec, schema_name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{schema_name} has no properties"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not an object"));
    for (key, inner) in object {
        let at = format!("{at}.{key}");
        let property = properties
            .get(key)
            .unwrap_or_else(|| panic!("{at} is not a property of {schema_name}"));
        if let Some(target) = property.get("$ref").and_then(Value::as_str) {
            let target = target.strip_prefix("#/components/schemas/").unwrap();
            assert_fits_schema(spec, inner, target, &at);
        } else if property.get("type").and_then(Value::as_str) == Some("string") {
            assert!(inner.is_string(), "{at} should be a string");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clone: what is sent
// ---------------------------------------------------------------------------------------------

/// Asserts that `request` is the clone request ElevenLabs documents, carrying `fixture`.
async fn assert_clone_request(
    request: &Request,
    fixture: &CloneFixture,
    file_name: &str,
    mime: &str,
) {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/v1/voices/add");
    assert_eq!(header_of(request, "xi-api-key"), API_KEY);
    assert!(header_of(request, "user-agent").starts_with("precall-webhook/"));
    assert!(header_of(request, "content-type").starts_with("multipart/form-data; boundary="));

    let parts = form_parts(request).await;
    let mut names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "description",
            "files",
            "labels",
            "name",
            "remove_background_noise"
        ]
    );

    assert_eq!(part(&parts, "name").text(), fixture.name.as_str());

    let file = part(&parts, "files");
    assert_eq!(file.file_name.as_deref(), Some(file_name));
    assert_eq!(file.content_type.as_deref(), Some(mime));
    assert_eq!(
        &file.bytes,
        fixture.sample.bytes(),
        "the sample, byte for byte"
    );

    let description = part(&parts, "description");
    assert!(description.file_name.is_none());
    assert!(description.text().contains(CONVERSATION_ID));

    let labels: Value = serde_json::from_str(part(&parts, "labels").text()).unwrap();
    assert_eq!(
        labels,
        json!({"source": "precall-webhook", "conversation_id": CONVERSATION_ID, "agent_id": AGENT_ID})
    );

    assert_eq!(part(&parts, "remove_background_noise").text(), "false");

    // Against `Body_Add_voice_v1_voices_add_post`: only known parts, all required ones present.
    let spec = openapi();
    let add_voice = schema(&spec, "Body_Add_voice_v1_voices_add_post");
    for part in &parts {
        assert!(
            add_voice["properties"].get(&part.name).is_some(),
            "`{}` is not a field of Body_Add_voice_v1_voices_add_post",
            part.name
        );
    }
    for required in add_voice["required"].as_array().unwrap() {
        let required = required.as_str().unwrap();
        assert!(names.contains(&required), "required `{required}` missing");
    }
}

#[tokio::test]
async fn clone_posts_the_wav_sample_as_one_file_part_with_name_description_and_labels() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_clone_request(&requests[0], &fixture, "sample.wav", "audio/wav").await;
}

#[tokio::test]
async fn clone_names_and_types_an_mp3_sample_after_its_measured_format() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::of(sample(Bytes::from(std::fs::read(MP3_FIXTURE).unwrap())));

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_clone_request(&requests[0], &fixture, "sample.mp3", "audio/mpeg").await;
}

// ---------------------------------------------------------------------------------------------
// Clone: what is read back
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn clone_reads_the_voice_id_and_the_verification_flag() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"voice_id": "c38kUX8pkfYO2kHyqfFy", "requires_verification": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "c38kUX8pkfYO2kHyqfFy");
    assert!(cloned.requires_verification);
}

#[tokio::test]
async fn a_malformed_success_body_is_unavailable_not_a_panic() {
    let bodies: [(&str, &str); 4] = [
        ("{}", "application/json"),
        ("this is not json", "text/plain"),
        (r#"{"voice_id":"../etc/passwd"}"#, "application/json"),
        ("", "application/json"),
    ];
    for (body, mime) in bodies {
        let (server, client) = setup().await;
        Mock::given(method("POST"))
            .and(path("/v1/voices/add"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, mime))
            .expect(1)
            .mount(&server)
            .await;
        let fixture = CloneFixture::wav();

        let error = client
            .clone_voice(fixture.request(in_secs(10)))
            .await
            .unwrap_err();

        assert!(
            matches!(error, UpstreamError::Unavailable(_)),
            "{body:?} gave {error:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Agent update
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn agent_update_patches_the_voice_and_the_greeting_and_nothing_else() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .and(header("xi-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"agent_id": AGENT_ID})))
        .expect(1)
        .mount(&server)
        .await;

    client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method.as_str(), "PATCH");
    assert_eq!(requests[0].url.path(), "/v1/convai/agents/agent_1");
    assert_eq!(header_of(&requests[0], "xi-api-key"), API_KEY);
    assert!(header_of(&requests[0], "content-type").starts_with("application/json"));
    let body: Value = requests[0].body_json().unwrap();
    assert_eq!(
        body,
        json!({"conversation_config": {"tts": {"voice_id": "v1"}, "agent": {"first_message": "Hallo Ivan"}}})
    );
}

#[test]
fn a_voice_only_update_leaves_the_agent_section_out() {
    let update = AgentUpdate {
        voice_id: Some(voice("v1")),
        first_message: None,
    };
    assert_eq!(
        patch_body(&update),
        json!({"conversation_config": {"tts": {"voice_id": "v1"}}})
    );
}

#[test]
fn a_greeting_only_update_leaves_the_tts_section_out() {
    let update = AgentUpdate {
        voice_id: None,
        first_message: Some("Hallo Ivan".into()),
    };
    assert_eq!(
        patch_body(&update),
        json!({"conversation_config": {"agent": {"first_message": "Hallo Ivan"}}})
    );
}

#[test]
fn the_agent_patch_body_fits_the_published_update_agent_schema() {
    let spec = openapi();
    let request_schema = spec["paths"]["/v1/convai/agents/{agent_id}"]["patch"]["requestBody"]
        ["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .strip_prefix("#/components/schemas/")
        .unwrap()
        .to_owned();
    assert_eq!(
        request_schema,
        "Body_Patches_an_Agent_settings_v1_convai_agents__agent_id__patch"
    );

    let body = patch_body(&voice_and_greeting());

    // Walks conversation_config → ConversationalConfigAPIModel-Input → tts →
    // TTSConversationalConfig-Input.voice_id and agent → AgentConfigAPIModel-Input.first_message.
    assert_fits_schema(&spec, &body, &request_schema, "body");
    let config = schema(&spec, "ConversationalConfigAPIModel-Input");
    assert_eq!(
        config["properties"]["tts"]["$ref"],
        "#/components/schemas/TTSConversationalConfig-Input"
    );
    assert_eq!(
        config["properties"]["agent"]["$ref"],
        "#/components/schemas/AgentConfigAPIModel-Input"
    );
}

#[tokio::test]
async fn an_unknown_agent_is_an_invalid_request_and_is_not_retried() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"detail": "Agent not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap_err();

    assert_eq!(
        error,
        UpstreamError::InvalidRequest("Agent not found".into())
    );
}

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Refusals: classified, and never retried
// ---------------------------------------------------------------------------------------------

/// Clones once against a server that always answers `response`; `expect(1)` proves no retry.
async fn clone_refused_with(response: ResponseTemplate) -> UpstreamError {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();
    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn full_voice_slots_are_an_account_refusal() {
    let error = clone_refused_with(business_error(
        400,
        "voice_limit_reached",
        "You have reached your maximum amount of custom voices",
    ))
    .await;

    let UpstreamError::Refused(message) = error else {
        panic!("expected Refused, got {error:?}");
    };
    assert!(message.starts_with("voice_limit_reached: "), "{message}");
}

#[tokio::test]
async fn an_invalid_api_key_is_an_account_refusal() {
    let error = clone_refused_with(business_error(401, "invalid_api_key", "Invalid API key")).await;

    assert!(matches!(error, UpstreamError::Refused(_)), "{error:?}");
}

#[tokio::test]
async fn a_validation_error_is_an_invalid_request_naming_the_field() {
    let error = clone_refused_with(ResponseTemplate::new(422).set_body_json(json!({
        "detail": [{"loc": ["body", "files"], "msg": "Expected UploadFile", "type": "value_error"}]
    })))
    .await;

    let UpstreamError::InvalidRequest(message) = error else {
        panic!("expected InvalidRequest, got {error:?}");
    };
    assert!(
        message.contains("body.files: Expected UploadFile"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------------

/// On `route`: answers `first` once (a higher-priority mock), then `then`; each exactly once.
async fn fail_once_then_succeed(
    server: &MockServer,
    verb: &str,
    route: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(then)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_503_is_retried_with_the_whole_form_sent_again() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "POST",
        "/v1/voices/add",
        ResponseTemplate::new(503),
        created(),
    )
    .await;
    voice_list(&server, json!([])).await;
    let fixture = CloneFixture::wav();

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "c38kUX8pkfYO2kHyqfFy");
    let requests = received_clones(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_clone_request(request, &fixture, "sample.wav", "audio/wav").await;
    }
}

#[tokio::test]
async fn a_429_is_retried() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "PATCH",
        "/v1/convai/agents/agent_1",
        business_error(429, "too_many_concurrent_requests", "Too many requests"),
        ResponseTemplate::new(200).set_body_json(json!({"agent_id": AGENT_ID})),
    )
    .await;

    client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "POST",
        "/v1/voices/add",
        business_error(429, "system_busy", "retry later").insert_header("Retry-After", "1"),
        created(),
    )
    .await;
    let fixture = CloneFixture::wav();
    let started = Instant::now();

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_unavailable_after_the_retries() {
    let server = MockServer::start().await;
    let client = client_for(server.uri(), 2);
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    voice_list(&server, json!([])).await;
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert_eq!(received_clones(&server).await.len(), 3);
}

#[tokio::test]
async fn a_clone_whose_answer_was_lost_is_adopted_not_sent_again() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();
    voice_list(
        &server,
        json!([
            {"voice_id": "someone_else", "name": fixture.name.as_str(), "labels": {"conversation_id": "conv_other"}},
            {"voice_id": "voice_created", "name": fixture.name.as_str(), "labels": {"source": "precall-webhook", "conversation_id": CONVERSATION_ID}},
        ]),
    )
    .await;

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "voice_created");
    let lookups: Vec<Request> = received(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "GET")
        .collect();
    assert_eq!(lookups.len(), 1);
    let query: HashMap<String, String> = lookups[0].url.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("search").map(String::as_str),
        Some(fixture.name.as_str())
    );
    assert_eq!(header_of(&lookups[0], "xi-api-key"), API_KEY);
}

#[tokio::test]
async fn a_clone_is_not_sent_again_when_its_fate_cannot_be_checked() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert_eq!(received_clones(&server).await.len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_after_the_retries() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_for(format!("http://127.0.0.1:{port}"), 2);
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    let UpstreamError::Unavailable(message) = error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("cannot connect"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// The deadline
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_slow_server_is_unavailable_at_the_deadline() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();
    let deadline = Instant::now() + Duration::from_millis(300);

    let result = tokio::time::timeout(
        Duration::from_secs(4),
        client.clone_voice(fixture.request(deadline)),
    )
    .await
    .expect("the call must give up at its deadline, not wait for the server");

    assert!(
        matches!(result, Err(UpstreamError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_not_waited_for() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(
            business_error(429, "system_busy", "retry later").insert_header("Retry-After", "30"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let result = tokio::time::timeout(
        Duration::from_secs(4),
        client.clone_voice(fixture.request(in_secs(1))),
    )
    .await
    .expect("the call must not sleep past its deadline");

    let Err(UpstreamError::Unavailable(message)) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    assert!(message.contains("deadline"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// The API key stays secret
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debug_output_never_shows_the_api_key() {
    let server = MockServer::start().await;
    let config = config(server.uri(), 2);
    let client = ElevenLabsClient::new(config.clone()).unwrap();

    assert!(!format!("{config:?}").contains(API_KEY));
    assert!(!format!("{client:?}").contains(API_KEY));
    assert!(!format!("{client:#?} {config:#?}").contains("SECRET"));
}

#[tokio::test]
async fn a_refusal_that_echoes_the_key_is_repeated_without_it() {
    let error = clone_refused_with(business_error(
        401,
        "invalid_api_key",
        &format!("key {API_KEY} is invalid"),
    ))
    .await;

    assert!(matches!(error, UpstreamError::Refused(_)), "{error:?}");
    assert!(!error.to_string().contains(API_KEY), "{error}");
    assert!(!format!("{error:?}").contains(API_KEY), "{error:?}");
}

#[tokio::test]
async fn a_failure_that_echoes_the_key_is_repeated_without_it() {
    let server = MockServer::start().await;
    let client = client_for(server.uri(), 0);
    Mock::given(method("DELETE"))
        .respond_with(business_error(
            500,
            "internal",
            &format!("key {API_KEY} broke us"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .delete_voice(&voice("v1"), in_secs(10))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert!(!error.to_string().contains(API_KEY), "{error}");
}

#[tokio::test]
async fn a_long_error_cut_short_in_the_middle_of_the_key_shows_no_part_of_it() {
    // `invalid_api_key: ` is 17 characters; the reason is cut at 300, five into the key.
    let message = format!("{} {API_KEY} is invalid", "x".repeat(277));
    for status in [401, 500] {
        let server = MockServer::start().await;
        let client = client_for(server.uri(), 0);
        Mock::given(method("DELETE"))
            .respond_with(business_error(status, "invalid_api_key", &message))
            .expect(1)
            .mount(&server)
            .await;

        let error = client
            .delete_voice(&voice("v1"), in_secs(10))
            .await
            .unwrap_err();

        assert!(
            !error.to_string().contains(&API_KEY[..5]),
            "{status}: {error}"
        );
    }
}
