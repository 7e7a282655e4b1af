//! The in-memory stand-in for the voice platform: an account whose voices persist until
//! deleted, take one of a limited number of slots and carry labels, as on ElevenLabs. It
//! records every call, can be told to fail and slowed down; the offline mode and the tests run
//! on it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{AgentId, AudioFormat, ConversationId, VoiceId, VoiceName};
use crate::ports::{
    CloneRequest, ClonedVoice, FoundVoice, ListedVoice, UpstreamError, VoiceCloner,
};

/// The `source` label on every clone, as the platform adapter sets it.
const SOURCE_LABEL: &str = "precall-webhook";
/// The `owner` label of [`InMemoryVoiceCloner::new`] (`VOICE_OWNER_TAG`'s default).
const DEFAULT_OWNER: &str = "precall-webhook";
/// Custom-voice slots of [`InMemoryVoiceCloner::new`]: more than any plan has, because until
/// clones are released after their calls nothing frees a slot, and an offline demo or a test
/// making a hundred clones must not fill the account by accident. A test that means to fill
/// it sets its own limit ([`InMemoryVoiceCloner::set_voice_limit`]).
pub const DEFAULT_VOICE_LIMIT: usize = 1_000;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these simple records inconsistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A clone the stand-in performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedClone {
    /// The id it handed out.
    pub voice_id: VoiceId,
    /// The voice name it was asked for.
    pub name: String,
    /// The sample bytes it received.
    pub bytes: Bytes,
    /// The sample's measured format.
    pub format: AudioFormat,
    /// The conversation it was for.
    pub conversation_id: ConversationId,
    /// The agent it was for.
    pub agent_id: AgentId,
}

/// A voice on the in-memory account, ours or not.
#[derive(Debug, Clone)]
struct StoredVoice {
    voice_id: VoiceId,
    name: String,
    labels: BTreeMap<String, String>,
    created_at_unix: i64,
}

impl StoredVoice {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

struct ClonerState {
    clones: Vec<RecordedClone>,
    /// The voices on the account right now (ours and foreign), oldest first.
    live: Vec<StoredVoice>,
    /// How many voices the account may hold; a clone beyond it is refused.
    voice_limit: usize,
    /// The unix time a clone is stamped with, when a test stopped the clock.
    now_unix: Option<i64>,
    deleted: Vec<VoiceId>,
    clone_failure: Option<UpstreamError>,
    delete_failure: Option<UpstreamError>,
    /// Clones still to make whose answer is then "lost" (returned as uncertain, with this
    /// `Retry-After`).
    lost_answers: usize,
    lost_retry_after: Option<Duration>,
    latency: Duration,
}

/// A [`VoiceCloner`] that keeps an account's voices in memory: each takes one of a limited
/// number of slots (refused as the platform refuses, with
/// [`UpstreamError::VoiceLimitReached`]), and clones carry the labels the platform adapter sets.
pub struct InMemoryVoiceCloner {
    state: Mutex<ClonerState>,
    next_id: AtomicU64,
    /// The `owner` label of our clones; only voices with it (and our `source`) are ours.
    owner: String,
}

impl Default for InMemoryVoiceCloner {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryVoiceCloner {
    /// A cloner that succeeds instantly, labels its clones with the default owner
    /// (`precall-webhook`) and has [`DEFAULT_VOICE_LIMIT`] slots.
    pub fn new() -> Self {
        Self::with_owner(DEFAULT_OWNER)
    }

    /// Like [`InMemoryVoiceCloner::new`], for the deployment whose `owner` label is `owner`.
    pub fn with_owner(owner: impl Into<String>) -> Self {
        Self {
            state: Mutex::new(ClonerState {
                clones: Vec::new(),
                live: Vec::new(),
                voice_limit: DEFAULT_VOICE_LIMIT,
                now_unix: None,
                deleted: Vec::new(),
                clone_failure: None,
                delete_failure: None,
                lost_answers: 0,
                lost_retry_after: None,
                latency: Duration::ZERO,
            }),
            next_id: AtomicU64::new(0),
            owner: owner.into(),
        }
    }

    /// How many voices (ours and foreign) the account may hold from now on. Voices over a
    /// lowered limit stay; following clones are refused until enough are deleted.
    pub fn set_voice_limit(&self, limit: usize) {
        lock(&self.state).voice_limit = limit;
    }

    /// Stops the account's clock at `unix` seconds: following voices are created then
    /// (default: the system clock).
    pub fn set_now_unix(&self, unix: i64) {
        lock(&self.state).now_unix = Some(unix);
    }

    /// Seeds a voice this stand-in did not clone: the user's own, another deployment's, or —
    /// given our `source` and `owner` labels — one a crash left behind. It takes a slot but may
    /// exceed the limit; whether it is listed and found as ours depends on `labels` alone, as
    /// on the platform. Returns its id.
    ///
    /// # Panics
    /// Never in practice: the ids it makes are always valid.
    pub fn add_foreign_voice(&self, name: &str, labels: &[(&str, &str)]) -> VoiceId {
        let voice_id = self
            .next_voice_id()
            .expect("`voice_mem_NNNNNN` is a valid voice id");
        let mut state = lock(&self.state);
        let created_at_unix = state.now();
        state.live.push(StoredVoice {
            voice_id: voice_id.clone(),
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            created_at_unix,
        });
        voice_id
    }

    fn next_voice_id(&self) -> Result<VoiceId, UpstreamError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        VoiceId::parse(format!("voice_mem_{n:06}"))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))
    }

    fn is_ours(&self, voice: &StoredVoice) -> bool {
        voice.label("source") == Some(SOURCE_LABEL) && voice.label("owner") == Some(&self.owner)
    }

    /// Makes every following clone fail with `error` (`None` to succeed again).
    pub fn fail_clones_with(&self, error: Option<UpstreamError>) {
        lock(&self.state).clone_failure = error;
    }

    /// Makes every following delete fail with `error` (`None` to succeed again).
    pub fn fail_deletes_with(&self, error: Option<UpstreamError>) {
        lock(&self.state).delete_failure = error;
    }

    /// Makes the next `n` clones create the voice and then lose the answer, as a platform
    /// that times out or answers 5xx (asking to wait `retry_after`) after acting does.
    pub fn lose_clone_answers(&self, n: usize, retry_after: Option<Duration>) {
        let mut state = lock(&self.state);
        state.lost_answers = n;
        state.lost_retry_after = retry_after;
    }

    /// Makes each clone take `latency` (to hold requests in flight in tests).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Every successful clone so far, in order.
    pub fn clones(&self) -> Vec<RecordedClone> {
        lock(&self.state).clones.clone()
    }

    /// Every voice deleted so far, in order.
    pub fn deleted(&self) -> Vec<VoiceId> {
        lock(&self.state).deleted.clone()
    }

    /// The voices on the account right now (foreign ones included), oldest first.
    pub fn live_voices(&self) -> Vec<VoiceId> {
        lock(&self.state)
            .live
            .iter()
            .map(|v| v.voice_id.clone())
            .collect()
    }
}

impl ClonerState {
    fn now(&self) -> i64 {
        self.now_unix.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }
}

#[async_trait]
impl VoiceCloner for InMemoryVoiceCloner {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        // As the platform adapter does: no attempt with less than its minimum time left.
        let left = request
            .deadline
            .saturating_duration_since(tokio::time::Instant::now().into_std());
        if left.is_zero() || left < request.min_attempt {
            return Err(UpstreamError::OutOfTime(
                "clone voice: not sent, too little time left before the deadline".into(),
            ));
        }
        let latency = lock(&self.state).latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = lock(&self.state);
        if let Some(error) = state.clone_failure.clone() {
            return Err(error);
        }
        // As ElevenLabs does: a full account creates nothing and says so (foreign voices count).
        if state.live.len() >= state.voice_limit {
            return Err(UpstreamError::VoiceLimitReached(format!(
                "voice_limit_reached: You have reached your maximum amount of custom voices \
                 ({} / {}). You can upgrade your subscription to increase your custom voice \
                 limit.",
                state.live.len(),
                state.voice_limit
            )));
        }
        let voice_id = self.next_voice_id()?;
        let created_at_unix = state.now();
        state.live.push(StoredVoice {
            voice_id: voice_id.clone(),
            name: request.name.as_str().to_owned(),
            labels: BTreeMap::from([
                ("source".to_owned(), SOURCE_LABEL.to_owned()),
                ("owner".to_owned(), self.owner.clone()),
                (
                    "conversation_id".to_owned(),
                    request.conversation_id.as_str().to_owned(),
                ),
                ("agent_id".to_owned(), request.agent_id.as_str().to_owned()),
            ]),
            created_at_unix,
        });
        state.clones.push(RecordedClone {
            voice_id: voice_id.clone(),
            name: request.name.as_str().to_owned(),
            bytes: request.sample.bytes().clone(),
            format: request.sample.format(),
            conversation_id: request.conversation_id.clone(),
            agent_id: request.agent_id.clone(),
        });
        if state.lost_answers > 0 {
            state.lost_answers -= 1;
            return Err(UpstreamError::Uncertain {
                reason: "clone voice: timed out".into(),
                retry_after: state.lost_retry_after,
            });
        }
        Ok(ClonedVoice {
            voice_id,
            requires_verification: false,
        })
    }

    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        _deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        let state = lock(&self.state);
        Ok(state
            .live
            .iter()
            .filter(|v| {
                self.is_ours(v) && v.label("conversation_id") == Some(conversation_id.as_str())
            })
            .map(|v| FoundVoice {
                voice_id: v.voice_id.clone(),
                name: VoiceName::on_platform(v.name.clone()),
            })
            .collect())
    }

    async fn list_voices(&self, _deadline: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        let state = lock(&self.state);
        Ok(state
            .live
            .iter()
            .filter(|v| self.is_ours(v))
            .map(|v| ListedVoice {
                voice_id: v.voice_id.clone(),
                name: VoiceName::on_platform(v.name.clone()),
                conversation_id: v
                    .label("conversation_id")
                    .and_then(|id| ConversationId::parse(id).ok()),
                agent_id: v.label("agent_id").and_then(|id| AgentId::parse(id).ok()),
                created_at_unix: Some(v.created_at_unix),
            })
            .collect())
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let mut state = lock(&self.state);
        if let Some(error) = state.delete_failure.clone() {
            return Err(error);
        }
        // Already gone counts as deleted, as on the platform's 404.
        if let Some(at) = state.live.iter().position(|v| &v.voice_id == voice_id) {
            state.live.remove(at);
            state.deleted.push(voice_id.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::domain::{Measurement, SampleLimits, UtcDateTime, VoiceSample};

    /// Clones a voice for `conversation_id` (agent `agent_1`) and returns the answer.
    async fn clone_for(
        cloner: &InMemoryVoiceCloner,
        conversation_id: &str,
    ) -> Result<ClonedVoice, UpstreamError> {
        let sample = VoiceSample::from_measurement(
            Bytes::from_static(b"RIFF....WAVE"),
            Measurement {
                format: AudioFormat::Wav,
                duration_seconds: 5.0,
                sample_rate: 16_000,
                channels: 1,
            },
            &SampleLimits {
                min_duration_seconds: 3.0,
                max_bytes: 1_000,
            },
        )
        .unwrap();
        let name = VoiceName::for_caller(Some("Ivan"), UtcDateTime::from_unix(1_765_370_096));
        cloner
            .clone_voice(CloneRequest {
                name: &name,
                sample: &sample,
                conversation_id: &ConversationId::parse(conversation_id).unwrap(),
                agent_id: &AgentId::parse("agent_1").unwrap(),
                deadline: Instant::now() + Duration::from_secs(10),
                min_attempt: Duration::ZERO,
            })
            .await
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[tokio::test]
    async fn a_full_account_refuses_a_clone_as_elevenlabs_does_and_creates_nothing() {
        let cloner = InMemoryVoiceCloner::new();
        cloner.set_voice_limit(2);
        cloner.add_foreign_voice("Narrator", &[("accent", "British")]);
        let first = clone_for(&cloner, "conv_1").await.unwrap();

        let error = clone_for(&cloner, "conv_2").await.unwrap_err();

        let UpstreamError::VoiceLimitReached(message) = error else {
            panic!("expected VoiceLimitReached, got {error:?}");
        };
        assert!(
            message.starts_with("voice_limit_reached: "),
            "as the platform adapter reads it: {message}"
        );
        assert_eq!(cloner.live_voices().len(), 2, "nothing created");
        assert_eq!(cloner.clones().len(), 1);

        cloner.delete_voice(&first.voice_id, soon()).await.unwrap();
        clone_for(&cloner, "conv_2")
            .await
            .expect("a deleted voice frees its slot");
    }

    #[tokio::test]
    async fn lists_this_owners_clones_with_their_labels_and_no_other_voice() {
        let cloner = InMemoryVoiceCloner::with_owner("blue");
        cloner.set_now_unix(1_700_000_000);
        let ours = clone_for(&cloner, "conv_1").await.unwrap();
        cloner.add_foreign_voice("Narrator", &[]);
        cloner.add_foreign_voice(
            "Green's",
            &[("source", "precall-webhook"), ("owner", "green")],
        );
        cloner.add_foreign_voice("Unowned", &[("source", "precall-webhook")]);
        let left_by_a_crash = cloner.add_foreign_voice(
            "Crashed",
            &[
                ("source", "precall-webhook"),
                ("owner", "blue"),
                ("conversation_id", "not a valid id!"),
            ],
        );

        let listed = cloner.list_voices(soon()).await.unwrap();

        assert_eq!(
            listed,
            [
                ListedVoice {
                    voice_id: ours.voice_id.clone(),
                    name: VoiceName::on_platform("Ivan_Clone_20251210_123456"),
                    conversation_id: Some(ConversationId::parse("conv_1").unwrap()),
                    agent_id: Some(AgentId::parse("agent_1").unwrap()),
                    created_at_unix: Some(1_700_000_000),
                },
                ListedVoice {
                    voice_id: left_by_a_crash,
                    name: VoiceName::on_platform("Crashed"),
                    conversation_id: None,
                    agent_id: None,
                    created_at_unix: Some(1_700_000_000),
                },
            ]
        );
        let found = cloner
            .find_voices(&ConversationId::parse("conv_1").unwrap(), soon())
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].voice_id, ours.voice_id);
    }

    #[tokio::test]
    async fn by_default_clones_are_owned_by_precall_webhook() {
        let cloner = InMemoryVoiceCloner::new();
        cloner.add_foreign_voice(
            "Blue's",
            &[("source", "precall-webhook"), ("owner", "blue")],
        );
        let ours = clone_for(&cloner, "conv_1").await.unwrap();

        let listed = cloner.list_voices(soon()).await.unwrap();

        let ids: Vec<&VoiceId> = listed.iter().map(|v| &v.voice_id).collect();
        assert_eq!(ids, [&ours.voice_id]);
    }
}
