//! The real ElevenLabs client against the stateful fake account: listing this deployment's
//! clones reads every page and never lists another voice, deployments sharing one account keep
//! apart by their `owner` label, and a full account is told apart from a spent add/edit budget.

use std::time::{Duration, Instant};

use bytes::Bytes;
use precall_webhook::adapters::elevenlabs::{ElevenLabsClient, ElevenLabsConfig};
use precall_webhook::domain::{
    AgentId, AudioFormat, ConversationId, Measurement, RetryPolicy, SampleLimits, UtcDateTime,
    VoiceName, VoiceSample,
};
use precall_webhook::ports::{CloneRequest, ClonedVoice, ListedVoice, UpstreamError, VoiceCloner};
use secrecy::SecretString;

use crate::fake_elevenlabs::{FakeElevenLabs, Route};

const OWNER: &str = "precall-webhook";
const START: i64 = 1_765_370_000;

/// The client as start-up builds it, for the deployment labelled `owner`.
fn client(fake: &FakeElevenLabs, owner: &str) -> ElevenLabsClient {
    ElevenLabsClient::new(ElevenLabsConfig {
        base_url: fake.uri(),
        api_key: SecretString::from(fake.api_key()),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        retry: RetryPolicy::with_max_retries(0),
        owner: owner.to_owned(),
    })
    .expect("the client builds")
}

fn in_30s() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

/// Clones a four-second tone for `conversation_id` on agent `agent_id`.
async fn clone_for(
    client: &ElevenLabsClient,
    conversation_id: &str,
    agent_id: &str,
) -> Result<ClonedVoice, UpstreamError> {
    let sample = VoiceSample::from_measurement(
        Bytes::from(precall_webhook::app::tone::wav(4.0, 8_000)),
        Measurement {
            format: AudioFormat::Wav,
            duration_seconds: 4.0,
            sample_rate: 8_000,
            channels: 1,
        },
        &SampleLimits {
            min_duration_seconds: 3.0,
            max_bytes: 1_000_000,
        },
    )
    .expect("a valid sample");
    let name = VoiceName::for_caller(Some("Ivan"), UtcDateTime::from_unix(START));
    client
        .clone_voice(CloneRequest {
            name: &name,
            sample: &sample,
            conversation_id: &ConversationId::parse(conversation_id).expect("a valid id"),
            agent_id: &AgentId::parse(agent_id).expect("a valid id"),
            deadline: in_30s(),
            min_attempt: Duration::ZERO,
        })
        .await
}

fn ids(voices: &[ListedVoice]) -> Vec<String> {
    voices
        .iter()
        .map(|v| v.voice_id.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn every_page_is_read_and_only_this_deployments_clones_are_listed() {
    let fake = FakeElevenLabs::builder()
        .now_unix(START)
        .voice_limit(1_000)
        .start()
        .await;
    let client = client(&fake, OWNER);
    // 240 voices, a second apart: ours (as a crash would leave them), the user's own, and
    // another deployment's, interleaved over three pages of 100.
    let mut expected = Vec::new();
    for i in 0..240 {
        let conversation = format!("conv_{i:03}");
        let id = match i % 3 {
            0 => fake.add_foreign_voice(
                &format!("Clone_{i:03}"),
                &[
                    ("source", "precall-webhook"),
                    ("owner", OWNER),
                    ("conversation_id", &conversation),
                    ("agent_id", "agent_1"),
                ],
            ),
            1 => fake.add_foreign_voice(&format!("Narrator_{i:03}"), &[("accent", "British")]),
            _ => fake.add_foreign_voice(
                &format!("Staging_{i:03}"),
                &[
                    ("source", "precall-webhook"),
                    ("owner", "staging"),
                    ("conversation_id", &conversation),
                ],
            ),
        };
        if i % 3 == 0 {
            expected.push(id);
        }
        fake.advance_clock(1);
    }
    // Half our labels is not ours.
    fake.add_foreign_voice("Source only", &[("source", "precall-webhook")]);
    fake.add_foreign_voice("Owner only", &[("owner", OWNER)]);
    fake.advance_clock(1);
    // And one cloned through the client itself, last.
    let cloned = clone_for(&client, "conv_new", "agent_2").await.unwrap();
    expected.push(cloned.voice_id.as_str().to_owned());
    let lists_before = fake.request_count(Route::ListVoices);

    let listed = client.list_voices(in_30s()).await.unwrap();

    assert_eq!(ids(&listed), expected, "ours, all of them, oldest first");
    assert_eq!(
        listed.last(),
        Some(&ListedVoice {
            voice_id: cloned.voice_id,
            name: VoiceName::on_platform("Ivan_Clone_20251210_123320"),
            conversation_id: Some(ConversationId::parse("conv_new").unwrap()),
            agent_id: Some(AgentId::parse("agent_2").unwrap()),
            created_at_unix: Some(START + 241),
        })
    );
    assert_eq!(
        listed[1].conversation_id.as_ref().unwrap().as_str(),
        "conv_003"
    );
    let lists = fake.requests_to(Route::ListVoices);
    assert_eq!(lists.len() - lists_before, 3, "243 voices: three pages");
    for list in &lists[lists_before..] {
        let query = list.query.as_deref().unwrap_or_default();
        assert!(!query.contains("search="), "no search: {query}");
        assert!(query.contains("category=cloned"), "{query}");
    }
    assert!(fake.unmodelled_requests().is_empty());
    fake.assert_every_request_succeeded();
    assert_eq!(fake.voice_count(), 243, "listing deletes nothing");
}

#[tokio::test]
async fn two_deployments_on_one_account_each_see_only_their_own_clones() {
    let fake = FakeElevenLabs::start().await;
    let blue = client(&fake, "blue");
    let green = client(&fake, "green");
    let blues = clone_for(&blue, "conv_shared", "agent_1").await.unwrap();
    let greens = clone_for(&green, "conv_shared", "agent_1").await.unwrap();

    assert_eq!(
        ids(&blue.list_voices(in_30s()).await.unwrap()),
        [blues.voice_id.as_str()]
    );
    assert_eq!(
        ids(&green.list_voices(in_30s()).await.unwrap()),
        [greens.voice_id.as_str()]
    );
    let conversation = ConversationId::parse("conv_shared").unwrap();
    let found = blue.find_voices(&conversation, in_30s()).await.unwrap();
    assert_eq!(found.len(), 1, "the same conversation id, another owner");
    assert_eq!(found[0].voice_id, blues.voice_id);
    assert_eq!(
        fake.voice(greens.voice_id.as_str()).unwrap().label("owner"),
        Some("green")
    );
}

#[tokio::test]
async fn a_full_account_is_told_apart_from_a_spent_add_edit_budget() {
    let fake = FakeElevenLabs::builder().voice_limit(1).start().await;
    let client = client(&fake, OWNER);
    clone_for(&client, "conv_1", "agent_1").await.unwrap();

    let full = clone_for(&client, "conv_2", "agent_1").await.unwrap_err();

    assert!(
        matches!(&full, UpstreamError::VoiceLimitReached(m) if m.starts_with("voice_limit_reached: ")),
        "{full:?}"
    );

    fake.set_voice_limit(10);
    fake.set_max_voice_add_edits(1);

    let spent = clone_for(&client, "conv_3", "agent_1").await.unwrap_err();

    assert!(
        matches!(&spent, UpstreamError::Refused(m) if m.starts_with("voice_add_edit_limit_reached: ")),
        "deleting frees no add/edit, so this must not read as full slots: {spent:?}"
    );
    assert_eq!(fake.voice_count(), 1, "neither refusal created a voice");
}
