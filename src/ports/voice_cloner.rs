//! Port: turning a voice sample into a voice on the platform (Instant Voice Cloning), finding
//! the voices made for a conversation, listing all of ours, and removing them again.

use std::time::{Duration, Instant};

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
    /// The conversation this clone is for (recorded in the voice's labels and description, so
    /// that [`VoiceCloner::find_voices`] finds it whatever became of the answer).
    pub conversation_id: &'a ConversationId,
    /// The agent that will speak with this voice.
    pub agent_id: &'a AgentId,
    /// When the caller stops waiting: retries must not go past it.
    pub deadline: Instant,
    /// No attempt is sent with less time than this left before `deadline`: a create cut off
    /// half-way is the kind whose answer is lost.
    pub min_attempt: Duration,
}

/// A voice the platform created for us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClonedVoice {
    /// The platform's id for the new voice.
    pub voice_id: VoiceId,
    /// The platform wants the voice verified before it can be used freely.
    pub requires_verification: bool,
}

/// A voice of ours found on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVoice {
    /// The platform's id for it.
    pub voice_id: VoiceId,
    /// The name it has there.
    pub name: VoiceName,
}

/// One of this deployment's voices on the platform, with what its labels say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVoice {
    /// The platform's id for it.
    pub voice_id: VoiceId,
    /// The name it has there.
    pub name: VoiceName,
    /// Its `conversation_id` label: the conversation it was cloned for. `None` when the label
    /// is missing or is not a valid id.
    pub conversation_id: Option<ConversationId>,
    /// Its `agent_id` label: the agent it was cloned for (the one to ask before deleting it).
    /// `None` when the label is missing or is not a valid id.
    pub agent_id: Option<AgentId>,
    /// When the platform created it, in unix seconds, if it says.
    pub created_at_unix: Option<i64>,
}

/// Clones voices, finds and lists them, deletes them.
#[async_trait]
pub trait VoiceCloner: Send + Sync + 'static {
    /// Creates a voice from `request.sample`. Attempts that certainly did not reach the
    /// platform (no connection, 429) may be repeated inside; anything that may have created
    /// the voice is returned, never blindly sent again.
    ///
    /// # Errors
    /// MUST return [`UpstreamError::InvalidRequest`] when the platform refuses the sample or a
    /// field, [`UpstreamError::VoiceLimitReached`] when the account's custom-voice slots are
    /// full (nothing was created; deleting a voice frees a slot), [`UpstreamError::Refused`]
    /// when it refuses the account otherwise (quota, the monthly add/edit budget, permissions),
    /// [`UpstreamError::Uncertain`] when the voice may have been created although no valid
    /// answer came back (timeout or reset after sending, 5xx, unreadable or invalid 2xx),
    /// [`UpstreamError::OutOfTime`] when less than `request.min_attempt` was left before an
    /// attempt, and [`UpstreamError::Unavailable`] when the platform cannot be reached or keeps
    /// answering 429.
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError>;

    /// The voices this service made for `conversation_id`, found by the `conversation_id` label
    /// it puts on every clone (never by the time-stamped name), oldest first.
    ///
    /// # Errors
    /// [`UpstreamError::Unavailable`] (or [`UpstreamError::OutOfTime`]) when the platform cannot
    /// be asked before `deadline`; [`UpstreamError::Refused`] when it refuses the account.
    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError>;

    /// Every voice of this deployment on the account: the cloned voices whose `source` and
    /// `owner` labels are ours (a voice lacking either is never listed, so no other voice is
    /// ever touched), from every page of the platform's listing, oldest first.
    ///
    /// # Errors
    /// [`UpstreamError::Unavailable`] (or [`UpstreamError::OutOfTime`]) when the platform cannot
    /// be asked before `deadline`, or when the listing cannot be read to its end (more pages
    /// than a sane account holds, a page that says more follow without saying where): never a
    /// shortened list. [`UpstreamError::Refused`] when the platform refuses the account.
    async fn list_voices(&self, deadline: Instant) -> Result<Vec<ListedVoice>, UpstreamError>;

    /// Deletes a voice this service created. A voice that is already gone counts as deleted.
    /// Retries stop at `deadline`.
    ///
    /// # Errors
    /// As for [`VoiceCloner::find_voices`]; the caller logs the voice id of a failed delete so
    /// an operator (or the sweep) can remove it.
    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError>;
}
