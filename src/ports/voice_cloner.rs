//! Port: turning a voice sample into a voice on the platform (Instant Voice Cloning), and
//! removing it again.

use std::time::Instant;

use async_trait::async_trait;

use super::UpstreamError;
use crate::domain::{AgentId, ConversationId, VoiceId, VoiceName, VoiceSample};

/// What to clone, and the context the platform should record with the voice.
#[derive(Debug, Clone, Copy)]
pub struct CloneRequest<'a> {
    /// The name to give the voice.
    pub name: &'a VoiceName,
    /// The measured, validated sample.
    pub sample: &'a VoiceSample,
    /// The conversation this clone is for (recorded in the voice's labels and description).
    pub conversation_id: &'a ConversationId,
    /// The agent that will speak with this voice.
    pub agent_id: &'a AgentId,
    /// When the caller stops waiting: retries must not go past it.
    pub deadline: Instant,
}

/// A voice the platform created for us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClonedVoice {
    /// The platform's id for the new voice.
    pub voice_id: VoiceId,
    /// The platform wants the voice verified before it can be used freely.
    pub requires_verification: bool,
}

/// Clones voices and deletes them.
#[async_trait]
pub trait VoiceCloner: Send + Sync + 'static {
    /// Creates a voice from `request.sample`. Called at most once per webhook.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::InvalidRequest`] when the platform refuses the sample or a
    /// field, [`UpstreamError::Refused`] when it refuses the account (limits, permissions), and
    /// [`UpstreamError::Unavailable`] when it cannot be reached or keeps failing after retries.
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError>;

    /// Deletes a voice this service created (the rollback when the agent update fails).
    ///
    /// # Errors
    /// As for [`VoiceCloner::clone_voice`]; the caller logs the voice id of a failed delete so
    /// an operator can remove the orphan.
    /// A voice that is already gone counts as deleted. Retries stop at `deadline`.
    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError>;
}
