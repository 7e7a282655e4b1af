//! Putting the voice and greeting on the agent, and undoing the clone when that fails. A PATCH
//! whose answer was lost may have been applied: the agent is read back before anything is
//! deleted, and a voice the agent may be using is never deleted blindly.

use std::time::Instant;

use super::personalise::{PersonaliseCall, ROLLBACK_BUDGET};
use super::{AgentId, Failure, PersonaliseError, Rollback, VoiceId};
use crate::ports::{AgentUpdate, UpstreamError};

/// Whether an update the platform did not confirm is there after all.
enum ReadBack {
    Applied,
    NotApplied,
    Unknown(UpstreamError),
}

impl PersonaliseCall {
    /// Applies `update`; on failure rolls back the voice it carries when this call made it
    /// (`reused` clones stay the caller's) and it is safe to, and says what became of it.
    pub(super) async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
        reused: bool,
    ) -> Result<(), Failure> {
        let made_now = update.voice_id.clone().filter(|_| !reused);
        if update.voice_id.is_some() {
            self.remember_original(agent_id, deadline).await;
        }
        let source = match self
            .ports
            .agents
            .update_agent(agent_id, update, deadline)
            .await
        {
            Ok(()) => return Ok(()),
            Err(source) => source,
        };
        if source.is_uncertain() {
            match self.read_back(agent_id, update).await {
                ReadBack::Applied => {
                    tracing::warn!(error = %source, "the agent update's answer was lost, but the agent has it");
                    return Ok(());
                }
                ReadBack::NotApplied => {}
                ReadBack::Unknown(read_error) => {
                    // The agent may be speaking with the voice: keep it for the clean-up.
                    let rollback = made_now.map_or(Rollback::NotNeeded, |voice_id| {
                        tracing::error!(%voice_id, error = %source, %read_error, "the agent update's answer was lost and the agent cannot be read back; keeping the voice");
                        Rollback::Kept(voice_id)
                    });
                    return Err(self.agent_failure(source, rollback));
                }
            }
        }
        let rollback = self.roll_back(made_now).await;
        Err(self.agent_failure(source, rollback))
    }

    /// Before the service first puts a clone on `agent_id`, reads and remembers what the agent
    /// speaks with, so retiring a clone can put it back. A failed read only means the defaults
    /// (or keeping the clone) will have to do.
    async fn remember_original(&self, agent_id: &AgentId, deadline: Instant) {
        if matches!(
            self.ports.registry.agent_original(agent_id).await,
            Ok(Some(_))
        ) {
            return;
        }
        let current = match self.ports.agents.read_agent(agent_id, deadline).await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(%agent_id, %error, "cannot read the agent before personalising it; AGENT_DEFAULT_VOICE_ID will be needed to put it back");
                return;
            }
        };
        // A clone of ours on the agent is not what it had before us.
        if let Some(voice_id) = &current.voice_id
            && matches!(self.ports.registry.by_voice(voice_id).await, Ok(Some(_)))
        {
            return;
        }
        if let Err(error) = self
            .ports
            .registry
            .remember_agent_original(agent_id, &current)
            .await
        {
            tracing::warn!(%agent_id, %error, "cannot remember what the agent had");
        }
    }

    fn agent_failure(&self, source: UpstreamError, rollback: Rollback) -> Failure {
        let voice_may_remain = matches!(rollback, Rollback::Failed(_) | Rollback::Kept(_));
        Failure {
            error: PersonaliseError::AgentUpdateFailed { source, rollback },
            voice_may_remain,
            evictions: 0,
        }
    }

    async fn read_back(&self, agent_id: &AgentId, update: &AgentUpdate) -> ReadBack {
        let deadline = self.ports.clock.now() + ROLLBACK_BUDGET;
        match self.ports.agents.read_agent(agent_id, deadline).await {
            Ok(settings) => {
                let voice_set = update.voice_id.is_none() || settings.voice_id == update.voice_id;
                let greeting_set = update.first_message.is_none()
                    || settings.first_message == update.first_message;
                if voice_set && greeting_set {
                    ReadBack::Applied
                } else {
                    ReadBack::NotApplied
                }
            }
            Err(error) => ReadBack::Unknown(error),
        }
    }

    async fn roll_back(&self, voice_id: Option<VoiceId>) -> Rollback {
        let Some(voice_id) = voice_id else {
            return Rollback::NotNeeded;
        };
        // Out of the registry first, so nothing reuses a voice on its way out.
        if let Err(error) = self.ports.registry.take(&voice_id, true).await {
            tracing::error!(%voice_id, %error, "cannot take the voice out of the registry");
        }
        let deadline = self.ports.clock.now() + ROLLBACK_BUDGET;
        match self.ports.cloner.delete_voice(&voice_id, deadline).await {
            Ok(()) => {
                tracing::info!(%voice_id, "agent update failed; the new voice was deleted again");
                Rollback::Deleted(voice_id)
            }
            Err(error) => {
                tracing::error!(
                    %voice_id, %error,
                    "agent update failed and the new voice could not be deleted; the clean-up \
                     will try again"
                );
                Rollback::Failed(voice_id)
            }
        }
    }
}
