//! In-memory stand-ins for the agent configurator and the sample store (the voice platform's
//! is in `memory_cloner`). They keep state like the platform does (agents remember their
//! settings and override permissions), record every call and can be told to fail; the offline
//! mode and the tests run on them.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;

use crate::domain::{AgentId, ConversationId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, OverridePermissions, SampleStore,
    SampleStoreError, SampleToStore, StoredSample, UpstreamError,
};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these simple records inconsistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// The override permissions each agent has now (all off until enabled).
    permissions: HashMap<AgentId, OverridePermissions>,
    /// Enabling permissions answers success but keeps nothing, as ElevenLabs has been seen to.
    drop_permissions: bool,
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

    /// The override permissions the agent has now, as `read_override_permissions` would say.
    pub fn override_permissions(&self, agent_id: &AgentId) -> OverridePermissions {
        lock(&self.state)
            .permissions
            .get(agent_id)
            .copied()
            .unwrap_or_default()
    }

    /// Makes every following enabling of override permissions succeed but keep nothing
    /// (`false` to keep them again), as ElevenLabs has been seen to do.
    pub fn drop_override_permissions(&self, drop: bool) {
        lock(&self.state).drop_permissions = drop;
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

    async fn enable_override_permissions(
        &self,
        agent_id: &AgentId,
        _deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let mut state = lock(&self.state);
        if let Some(error) = state.failure.clone() {
            return Err(error);
        }
        if !state.drop_permissions {
            state
                .permissions
                .insert(agent_id.clone(), OverridePermissions::ALL);
        }
        Ok(())
    }

    async fn read_override_permissions(
        &self,
        agent_id: &AgentId,
        _deadline: Instant,
    ) -> Result<OverridePermissions, UpstreamError> {
        let state = lock(&self.state);
        if let Some(error) = state.read_failure.clone() {
            return Err(error);
        }
        Ok(state.permissions.get(agent_id).copied().unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn agent(id: &str) -> AgentId {
        AgentId::parse(id).unwrap()
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[tokio::test]
    async fn enabling_overrides_turns_all_three_on_for_that_agent_only() {
        let agents = InMemoryAgentConfigurator::new();

        agents
            .enable_override_permissions(&agent("agent_1"), soon())
            .await
            .unwrap();

        assert_eq!(
            agents
                .read_override_permissions(&agent("agent_1"), soon())
                .await,
            Ok(OverridePermissions::ALL)
        );
        assert_eq!(
            agents.override_permissions(&agent("agent_2")),
            OverridePermissions::default()
        );
        assert!(agents.updates().is_empty(), "voice and greeting untouched");
    }

    #[tokio::test]
    async fn told_to_drop_them_it_answers_success_and_keeps_nothing() {
        let agents = InMemoryAgentConfigurator::new();
        agents.drop_override_permissions(true);

        agents
            .enable_override_permissions(&agent("agent_1"), soon())
            .await
            .unwrap();

        assert_eq!(
            agents.override_permissions(&agent("agent_1")),
            OverridePermissions::default()
        );
    }
}
