//! In-memory stand-ins for the voice platform and the sample store. They keep state like the
//! platform does (voices persist until deleted, agents remember their settings), record every
//! call, can be told to fail, and can be slowed down; the offline mode and the tests run on them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{AgentId, AudioFormat, ConversationId, VoiceId, VoiceName};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, CloneRequest, ClonedVoice, FoundVoice,
    SampleStore, SampleStoreError, SampleToStore, StoredSample, UpstreamError, VoiceCloner,
};

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

#[derive(Default)]
struct ClonerState {
    clones: Vec<RecordedClone>,
    /// The voices on the account right now, oldest first.
    live: Vec<VoiceId>,
    deleted: Vec<VoiceId>,
    clone_failure: Option<UpstreamError>,
    delete_failure: Option<UpstreamError>,
    /// Clones still to make whose answer is then "lost" (returned as uncertain, with this
    /// `Retry-After`).
    lost_answers: usize,
    lost_retry_after: Option<Duration>,
    latency: Duration,
}

/// A [`VoiceCloner`] that keeps voices in memory.
#[derive(Default)]
pub struct InMemoryVoiceCloner {
    state: Mutex<ClonerState>,
    next_id: AtomicU64,
}

impl InMemoryVoiceCloner {
    /// A cloner that succeeds instantly.
    pub fn new() -> Self {
        Self::default()
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

    /// The voices on the account right now, oldest first.
    pub fn live_voices(&self) -> Vec<VoiceId> {
        lock(&self.state).live.clone()
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
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let voice_id = VoiceId::parse(format!("voice_mem_{n:06}"))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        state.live.push(voice_id.clone());
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
            .clones
            .iter()
            .filter(|c| &c.conversation_id == conversation_id && state.live.contains(&c.voice_id))
            .map(|c| FoundVoice {
                voice_id: c.voice_id.clone(),
                name: VoiceName::on_platform(c.name.clone()),
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
        if let Some(at) = state.live.iter().position(|v| v == voice_id) {
            state.live.remove(at);
            state.deleted.push(voice_id.clone());
        }
        Ok(())
    }
}

/// An agent update the stand-in applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAgentUpdate {
    /// The agent.
    pub agent_id: AgentId,
    /// What was changed.
    pub update: AgentUpdate,
}

#[derive(Default)]
struct AgentState {
    updates: Vec<RecordedAgentUpdate>,
    /// What each agent has now.
    agents: HashMap<AgentId, AgentSettings>,
    failure: Option<UpstreamError>,
    /// Updates still to apply whose answer is then "lost" (returned as uncertain).
    lost_answers: usize,
    read_failure: Option<UpstreamError>,
}

/// An [`AgentConfigurator`] that records updates in memory.
#[derive(Default)]
pub struct InMemoryAgentConfigurator {
    state: Mutex<AgentState>,
}

impl InMemoryAgentConfigurator {
    /// A configurator that accepts every update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following update fail with `error` (`None` to succeed again).
    pub fn fail_updates_with(&self, error: Option<UpstreamError>) {
        lock(&self.state).failure = error;
    }

    /// Makes every following read of an agent fail with `error` (`None` to succeed again).
    pub fn fail_reads_with(&self, error: Option<UpstreamError>) {
        lock(&self.state).read_failure = error;
    }

    /// Makes the next `n` updates apply and then lose the answer.
    pub fn lose_update_answers(&self, n: usize) {
        lock(&self.state).lost_answers = n;
    }

    /// What the agent has now, as `read_agent` would say.
    pub fn settings(&self, agent_id: &AgentId) -> AgentSettings {
        lock(&self.state)
            .agents
            .get(agent_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every successful update so far, in order.
    pub fn updates(&self) -> Vec<RecordedAgentUpdate> {
        lock(&self.state).updates.clone()
    }
}

#[async_trait]
impl AgentConfigurator for InMemoryAgentConfigurator {
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let mut state = lock(&self.state);
        if let Some(error) = state.failure.clone() {
            return Err(error);
        }
        let agent = state.agents.entry(agent_id.clone()).or_default();
        if let Some(voice_id) = &update.voice_id {
            agent.voice_id = Some(voice_id.clone());
        }
        if let Some(first_message) = &update.first_message {
            agent.first_message = Some(first_message.clone());
        }
        state.updates.push(RecordedAgentUpdate {
            agent_id: agent_id.clone(),
            update: update.clone(),
        });
        if state.lost_answers > 0 {
            state.lost_answers -= 1;
            return Err(UpstreamError::Uncertain {
                reason: "update agent: timed out".into(),
                retry_after: None,
            });
        }
        Ok(())
    }

    async fn read_agent(
        &self,
        agent_id: &AgentId,
        _deadline: Instant,
    ) -> Result<AgentSettings, UpstreamError> {
        let state = lock(&self.state);
        if let Some(error) = state.read_failure.clone() {
            return Err(error);
        }
        Ok(state.agents.get(agent_id).cloned().unwrap_or_default())
    }
}

/// A sample kept by [`InMemorySampleStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSample {
    /// Its key.
    pub key: String,
    /// The conversation it came with.
    pub conversation_id: ConversationId,
    /// Its bytes.
    pub bytes: Bytes,
}

/// A [`SampleStore`] that keeps samples in memory.
#[derive(Default)]
pub struct InMemorySampleStore {
    samples: Mutex<Vec<KeptSample>>,
}

impl InMemorySampleStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every sample kept so far, in order.
    pub fn samples(&self) -> Vec<KeptSample> {
        lock(&self.samples).clone()
    }
}

#[async_trait]
impl SampleStore for InMemorySampleStore {
    async fn save(&self, sample: SampleToStore<'_>) -> Result<StoredSample, SampleStoreError> {
        let mut samples = lock(&self.samples);
        let key = format!(
            "sample_{:06}.{}",
            samples.len() + 1,
            sample.sample.format().extension()
        );
        samples.push(KeptSample {
            key: key.clone(),
            conversation_id: sample.conversation_id.clone(),
            bytes: sample.sample.bytes().clone(),
        });
        Ok(StoredSample { key })
    }
}
