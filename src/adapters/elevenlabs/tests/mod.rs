//! The ElevenLabs adapter against a wiremock stand-in: what reaches the server (checked
//! against ElevenLabs' published OpenAPI spec), how answers and failures map onto
//! [`UpstreamError`], the retry loop, the deadline, and that the API key never leaks.
//!
//! This file holds what the test files share: the client under test, the mock server, the
//! fixtures a clone request borrows, and canned ElevenLabs answers.

mod agent;
mod api_key;
mod clone;
mod deadline;
mod delete;
mod errors;
mod list;
mod retry;
mod spec;

use std::time::{Duration, Instant};

use bytes::Bytes;
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::domain::{
    AgentId, AudioFormat, ConversationId, Measurement, SampleLimits, UtcDateTime, VoiceId,
    VoiceName, VoiceSample,
};
use crate::ports::{AgentUpdate, CloneRequest, ListedVoice, UpstreamError, VoiceCloner};

const API_KEY: &str = "sk_test_SECRET123";
const CONVERSATION_ID: &str = "conv_01jx9k2m3n";
const AGENT_ID: &str = "agent_1";
/// This deployment's `owner` label; not the default, so that a hard-coded one shows.
const OWNER: &str = "precall-test";

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
        owner: OWNER.into(),
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

/// `bytes` as an audio probe would measure them: five seconds of mono `format` audio at
/// `sample_rate`. The adapter sends what the sample says; measuring is not its business.
fn sample(bytes: Bytes, format: AudioFormat, sample_rate: u32) -> VoiceSample {
    VoiceSample::from_measurement(
        bytes,
        Measurement {
            format,
            duration_seconds: 5.0,
            sample_rate,
            channels: 1,
        },
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
        Self::of(sample(wav(5), AudioFormat::Wav, 8_000))
    }

    fn request(&self, deadline: Instant) -> CloneRequest<'_> {
        CloneRequest {
            name: &self.name,
            sample: &self.sample,
            conversation_id: &self.conversation_id,
            agent_id: &self.agent_id,
            deadline,
            min_attempt: Duration::ZERO,
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

fn header_of<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

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
