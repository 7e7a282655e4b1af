//! Port: putting a voice and a greeting on the agent that takes the call.

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

/// Changes an agent's configuration.
#[async_trait]
pub trait AgentConfigurator: Send + Sync + 'static {
    /// Applies `update` to the agent, changing only the parts that are `Some`; retries stop
    /// at `deadline`.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::InvalidRequest`] when the platform refuses the update (an
    /// unknown agent, an invalid field), [`UpstreamError::Refused`] when it refuses the account,
    /// and [`UpstreamError::Unavailable`] when it cannot be reached or keeps failing.
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
    ) -> Result<(), UpstreamError>;
}
