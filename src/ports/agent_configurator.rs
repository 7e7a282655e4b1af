//! Port: putting a voice and a greeting on the agent that takes the call, reading back what the
//! agent has, and allowing the per-call overrides the conversation-initiation webhook needs.

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

/// Which per-call overrides an agent allows (`platform_settings.overrides` on ElevenLabs). The
/// conversation-initiation webhook can give a call its caller's voice and greeting only when
/// all three are on; an override the agent does not allow fails the call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverridePermissions {
    /// The agent asks our conversation-initiation webhook for per-call data
    /// (`enable_conversation_initiation_client_data_from_webhook`).
    pub initiation_webhook: bool,
    /// A call may speak with another voice (`conversation_config_override.tts.voice_id`).
    pub voice_id: bool,
    /// A call may open with another line (`conversation_config_override.agent.first_message`).
    pub first_message: bool,
}

impl OverridePermissions {
    /// All three on: what the service needs and what enabling asks for.
    pub const ALL: Self = Self {
        initiation_webhook: true,
        voice_id: true,
        first_message: true,
    };

    /// Whether every permission the service needs is on.
    pub fn all_on(&self) -> bool {
        *self == Self::ALL
    }
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

    /// Turns on the agent's [`OverridePermissions`] — all three, and no other setting of the
    /// agent — so that the conversation-initiation webhook may set a call's voice and greeting.
    /// It converges: enabling twice is the same as once. The platform has been seen to accept
    /// this and keep nothing, so a caller that needs them confirms with
    /// [`read_override_permissions`](Self::read_override_permissions).
    ///
    /// # Errors
    /// As [`update_agent`](Self::update_agent): [`UpstreamError::InvalidRequest`] for an unknown
    /// agent or a refused field, [`UpstreamError::Refused`] when the account is refused,
    /// [`UpstreamError::Uncertain`] when it may have been applied although no answer said so,
    /// [`UpstreamError::OutOfTime`] when no attempt could be sent before `deadline`, and
    /// [`UpstreamError::Unavailable`] when the platform could not be reached at all.
    async fn enable_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<(), UpstreamError>;

    /// Reads which [`OverridePermissions`] the agent has now; a permission the platform does not
    /// mention is off (its default).
    ///
    /// # Errors
    /// As [`read_agent`](Self::read_agent): [`UpstreamError::InvalidRequest`] for an unknown
    /// agent, [`UpstreamError::Refused`] when the account is refused,
    /// [`UpstreamError::Unavailable`] or [`UpstreamError::OutOfTime`] when the platform cannot be
    /// asked before `deadline`.
    async fn read_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<OverridePermissions, UpstreamError>;
}
