//! In-memory stand-ins for the voice platform and the sample store. They record every call,
//! can be told to fail, and can be slowed down; the offline mode and the tests run on them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{AgentId, AudioFormat, ConversationId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentUpdate, CloneRequest, ClonedVoice, SampleStore, SampleStoreError,
    SampleToStore, StoredSample, UpstreamError, VoiceCloner,
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
    deleted: Vec<VoiceId>,
    clone_failure: Option<UpstreamError>,
    delete_failure: Option<UpstreamError>,
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
}

#[async_trait]
impl VoiceCloner for InMemoryVoiceCloner {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
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
        state.clones.push(RecordedClone {
            voice_id: voice_id.clone(),
            name: request.name.as_str().to_owned(),
            bytes: request.sample.bytes().clone(),
            format: request.sample.format(),
            conversation_id: request.conversation_id.clone(),
            agent_id: request.agent_id.clone(),
        });
        Ok(ClonedVoice {
            voice_id,
            requires_verification: false,
        })
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
        if !state.clones.iter().any(|c| &c.voice_id == voice_id) {
            return Err(UpstreamError::InvalidRequest(format!(
                "voice_not_found: no voice {voice_id}"
            )));
        }
        state.deleted.push(voice_id.clone());
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
    failure: Option<UpstreamError>,
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
        state.updates.push(RecordedAgentUpdate {
            agent_id: agent_id.clone(),
            update: update.clone(),
        });
        Ok(())
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
