//! What personalising a call produced, or why it failed and what it may have left behind.

use super::{CallerInfo, ConversationId, VoiceId, VoiceName, VoiceSampleError};
use crate::ports::{StoredSample, UpstreamError};

/// A voice put on this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoice {
    /// The platform's id for it.
    pub voice_id: VoiceId,
    /// The name we gave it.
    pub voice_name: VoiceName,
}

/// What the use case did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The voice put on the call: cloned now, or the caller's clone reused; `None` when no
    /// sample was sent and the caller has no clone to reuse.
    pub voice: Option<NewVoice>,
    /// The voice is the caller's existing clone: nothing was cloned.
    pub voice_reused: bool,
    /// Whether the agent was changed (false when there was nothing to change).
    pub agent_updated: bool,
    /// The caller details to echo back.
    pub caller_info: CallerInfo,
    /// Where the sample was kept, when storage is on and worked.
    pub stored_sample: Option<StoredSample>,
}

/// What became of a voice created before the agent update failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollback {
    /// No voice had been created.
    NotNeeded,
    /// The voice was deleted again.
    Deleted(VoiceId),
    /// The delete failed: the voice is left for the clean-up and the sweep.
    Failed(VoiceId),
    /// The update's answer was lost and the agent could not be read back: the agent may be
    /// using the voice, so it is kept (never deleted blindly) for the clean-up to decide.
    Kept(VoiceId),
}

/// Why the call could not be personalised. The edge maps each variant to one row of the
/// error table; `Display` is the message the sender sees.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PersonaliseError {
    /// The sample is not usable audio, too short or too large.
    #[error(transparent)]
    InvalidSample(#[from] VoiceSampleError),
    /// The platform did not create the voice (or we could not tell whether it did).
    #[error("Voice cloning failed: {0}")]
    CloningFailed(UpstreamError),
    /// The platform did not update the agent; a voice created for it was rolled back.
    #[error("Agent update failed: {source}")]
    AgentUpdateFailed {
        /// Why the update failed.
        source: UpstreamError,
        /// What became of the new voice.
        rollback: Rollback,
    },
}

/// A failed personalisation, and whether it may have left a voice on the platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Why it failed.
    pub error: PersonaliseError,
    /// A voice made for this conversation may still exist (a clone whose answer was lost, a
    /// rollback that failed or was not safe): the delivery is released as uncertain, so the
    /// next delivery looks for it, and a clean-up looks for it in the background.
    pub voice_may_remain: bool,
    /// Clones of ours deleted to make room on the way (see [`Personalised::evictions`]): they
    /// are gone whatever became of the call.
    ///
    /// [`Personalised::evictions`]: super::Personalised::evictions
    pub evictions: u32,
}

impl From<PersonaliseError> for Failure {
    fn from(error: PersonaliseError) -> Self {
        Self {
            error,
            voice_may_remain: false,
            evictions: 0,
        }
    }
}

impl From<VoiceSampleError> for Failure {
    fn from(error: VoiceSampleError) -> Self {
        PersonaliseError::InvalidSample(error).into()
    }
}
