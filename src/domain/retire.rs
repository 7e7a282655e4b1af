//! Retiring a clone: taking it out of the registry and deleting it from the account without
//! ever pulling a voice from under an agent. When the clone's agent still speaks with it (in
//! `patch` mode another call may have patched it since, or not), the agent is first put back to
//! what it had before the service first patched it — or the configured defaults — and only then
//! is the voice deleted. Eviction, release after a call and the sweep all retire this way.

use std::sync::Arc;

use super::{AgentId, ROLLBACK_BUDGET, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, Clock, VoiceCloner, VoiceEntry, VoiceRegistry,
};

/// What retiring a clone came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retired {
    /// Deleted from the account (the agent put back first when it used the clone).
    Deleted,
    /// Not ours to retire now: unknown to the registry, taken by someone else, or in a call.
    NotTaken,
    /// Kept: its agent uses it and could not be put back (or could not be read). It stays in
    /// the registry.
    KeptInUse,
    /// Out of the registry, but the delete failed: the sweep deletes it as an orphan.
    DeleteFailed,
}

/// Retires clones. Cheap to share.
pub struct Retirement {
    cloner: Arc<dyn VoiceCloner>,
    agents: Arc<dyn AgentConfigurator>,
    registry: Arc<dyn VoiceRegistry>,
    clock: Arc<dyn Clock>,
    defaults: AgentSettings,
}

impl Retirement {
    /// Builds it; `defaults` (`AGENT_DEFAULT_VOICE_ID`, `AGENT_DEFAULT_FIRST_MESSAGE`) win over
    /// what an agent had, part by part, when set.
    pub fn new(
        cloner: Arc<dyn VoiceCloner>,
        agents: Arc<dyn AgentConfigurator>,
        registry: Arc<dyn VoiceRegistry>,
        clock: Arc<dyn Clock>,
        defaults: AgentSettings,
    ) -> Self {
        Self {
            cloner,
            agents,
            registry,
            clock,
            defaults,
        }
    }

    /// Retires the clone `voice_id` unless it is in a call.
    pub async fn retire(&self, voice_id: &VoiceId) -> Retired {
        let entry = match self.registry.take(voice_id, false).await {
            Ok(Some(entry)) => entry,
            Ok(None) => return Retired::NotTaken,
            Err(error) => {
                tracing::error!(%voice_id, %error, "cannot take the clone out of the registry; keeping it");
                return Retired::NotTaken;
            }
        };
        let deadline = self.clock.now() + ROLLBACK_BUDGET;
        if !self.free_agent(&entry.agent_id, voice_id, deadline).await {
            self.put_back(entry).await;
            return Retired::KeptInUse;
        }
        match self.cloner.delete_voice(voice_id, deadline).await {
            Ok(()) => Retired::Deleted,
            Err(error) => {
                tracing::error!(%voice_id, %error, "could not delete the clone; the sweep will");
                Retired::DeleteFailed
            }
        }
    }

    /// Makes sure `agent_id` does not speak with `voice_id`: `true` when it did not, or was
    /// put back; `false` when it (maybe) still does.
    async fn free_agent(
        &self,
        agent_id: &AgentId,
        voice_id: &VoiceId,
        deadline: std::time::Instant,
    ) -> bool {
        let current = match self.agents.read_agent(agent_id, deadline).await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%agent_id, %voice_id, %error, "cannot read the agent; keeping the clone it may use");
                return false;
            }
        };
        if current.voice_id.as_ref() != Some(voice_id) {
            return true;
        }
        let original = match self.registry.agent_original(agent_id).await {
            Ok(original) => original.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(%agent_id, %error, "cannot read what the agent had; keeping the clone");
                return false;
            }
        };
        let restore = AgentUpdate {
            voice_id: self.defaults.voice_id.clone().or(original.voice_id),
            first_message: self
                .defaults
                .first_message
                .clone()
                .or(original.first_message),
        };
        if restore.voice_id.is_none() {
            tracing::warn!(%agent_id, %voice_id, "the agent speaks with this clone and what it had before is unknown (set AGENT_DEFAULT_VOICE_ID); keeping the clone");
            return false;
        }
        match self.agents.update_agent(agent_id, &restore, deadline).await {
            Ok(()) => {
                tracing::info!(%agent_id, %voice_id, "agent put back to its own voice before the clone is deleted");
                true
            }
            Err(error) => {
                tracing::warn!(%agent_id, %voice_id, %error, "cannot put the agent back; keeping the clone");
                false
            }
        }
    }

    async fn put_back(&self, entry: VoiceEntry) {
        let voice_id = entry.voice_id.clone();
        if let Err(error) = self.registry.register(entry).await {
            tracing::error!(%voice_id, %error, "cannot put the kept clone back in the registry; the sweep may see it as an orphan");
        }
    }
}
