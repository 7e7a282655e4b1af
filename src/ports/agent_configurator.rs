//! Port: putting a voice and a greeting on the agent that takes the call, and reading back
//! what the agent has.

use std::time::Instant;

use async_trait::async_trait;

use super::UpstreamError;
use crate::domain::{AgentId, VoiceId};

/// The parts of an agent's configuration to change; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentUpdate {
    /// The voice the agent should speak with (`conversation_config.tts.voice_id`).
    pub voice_id: Option<VoiceId>,
    /// The agent's opening line (`conversation_config.agent.first_message`).
    pub first_message: Option<String>,
}

impl AgentUpdate {
    /// Whether there is nothing to change (then no call is made at all).
    pub fn is_empty(&self) -> bool {
        self.voice_id.is_none() && self.first_message.is_none()
    }
}

/// The parts of an agent's configuration the service personalises, as the platform has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSettings {
    /// `conversation_config.tts.voice_id`, when set.
    pub voice_id: Option<VoiceId>,
    /// `conversation_config.agent.first_message`, when set.
    pub first_message: Option<String>,
}

/// Changes an agent's configuration and reads it back.
#[async_trait]
pub trait AgentConfigurator: Send + Sync + 'static {
    /// Applies `update` to the agent, changing only the parts that are `Some`; retries stop
    /// at `deadline`.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::InvalidRequest`] when the platform refuses the update (an
    /// unknown agent, an invalid field), [`UpstreamError::Refused`] when it refuses the account,
    /// [`UpstreamError::Uncertain`] when the update may have been applied although no answer
    /// said so (a timeout after sending, a 5xx after the retries), [`UpstreamError::OutOfTime`]
    /// when no attempt could be sent before `deadline`, and [`UpstreamError::Unavailable`] when
    /// the platform could not be reached at all.
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
    ) -> Result<(), UpstreamError>;

    /// Reads the agent's voice and greeting as the platform has them now.
    ///
    /// # Errors
    /// [`UpstreamError::InvalidRequest`] for an unknown agent, [`UpstreamError::Refused`] when
    /// the account is refused, [`UpstreamError::Unavailable`] or [`UpstreamError::OutOfTime`]
    /// when the platform cannot be asked before `deadline`.
    async fn read_agent(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<AgentSettings, UpstreamError>;
}
