//! Release after the call (SPEC "Voice lifecycle" 2): a post-call event ends the call its clone
//! served. A clone without a caller key served that conversation alone and is retired at once
//! (in the background, by the caller of [`ReleaseAfterCall::release`]); a caller's clone is kept
//! for reuse until the sweep finds it past `VOICE_REUSE_MAX_AGE_SECONDS`.

use std::sync::Arc;

use super::{CallId, ConversationId, VoiceId};
use crate::ports::{RegistryError, VoiceEntry, VoiceRegistry};

/// The event types ElevenLabs sends to the post-call webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostCallKind {
    /// `post_call_transcription`: the call ended; its transcript.
    Transcription,
    /// `post_call_transcription_otel`: the same, as OpenTelemetry traces.
    TranscriptionOtel,
    /// `call_initiation_failure`: the call never started.
    InitiationFailure,
    /// `post_call_audio`: the recording; says nothing we act on.
    Audio,
    /// A type we do not know (answered 200: a 4xx counts towards ElevenLabs disabling the hook).
    Unknown,
}

impl PostCallKind {
    /// The kind of `event_type` as ElevenLabs spells it.
    pub fn of(event_type: &str) -> Self {
        match event_type {
            "post_call_transcription" => Self::Transcription,
            "post_call_transcription_otel" => Self::TranscriptionOtel,
            "call_initiation_failure" => Self::InitiationFailure,
            "post_call_audio" => Self::Audio,
            _ => Self::Unknown,
        }
    }

    /// Whether this event ends a call (the others are ignored).
    pub fn ends_a_call(&self) -> bool {
        matches!(
            self,
            Self::Transcription | Self::TranscriptionOtel | Self::InitiationFailure
        )
    }
}

/// What a post-call event says about which clone served the call, in the order it is looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallEnded {
    /// `data.conversation_id`: the conversation of the pre-call webhook.
    pub conversation_id: Option<ConversationId>,
    /// The ids of the call, one of which was bound at conversation initiation (`call_sid`,
    /// `call_id`, `CallSid`: a SIP call has two, and was bound with its `call_id`).
    pub call_ids: Vec<CallId>,
    /// `conversation_config_override.tts.voice_id` we answered at initiation, if any.
    pub override_voice_id: Option<VoiceId>,
}

/// What was done about the clone of an ended call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Release {
    /// The clone served this conversation alone: retire `0` now.
    Retire(VoiceId),
    /// A caller's clone: kept for reuse.
    Kept(VoiceId),
    /// No clone of ours served the call.
    None,
}

/// The release use case.
pub struct ReleaseAfterCall {
    registry: Arc<dyn VoiceRegistry>,
}

impl ReleaseAfterCall {
    /// Builds it.
    pub fn new(registry: Arc<dyn VoiceRegistry>) -> Self {
        Self { registry }
    }

    /// Finds the clone that served the call — by conversation, else by call, else by the
    /// override's voice when it is ours — ends its call, and says whether to retire it.
    ///
    /// # Errors
    /// [`RegistryError`] when the registry fails.
    pub async fn release(&self, ended: &CallEnded) -> Result<Release, RegistryError> {
        let Some(entry) = self.find(ended).await? else {
            return Ok(Release::None);
        };
        self.registry.end_call(&entry.voice_id).await?;
        Ok(match entry.caller_key {
            None => Release::Retire(entry.voice_id),
            Some(_) => Release::Kept(entry.voice_id),
        })
    }

    async fn find(&self, ended: &CallEnded) -> Result<Option<VoiceEntry>, RegistryError> {
        if let Some(conversation_id) = &ended.conversation_id
            && let Some(entry) = self.registry.by_conversation(conversation_id).await?
        {
            return Ok(Some(entry));
        }
        for call in &ended.call_ids {
            if let Some(entry) = self.registry.by_call(call).await? {
                return Ok(Some(entry));
            }
        }
        match &ended.override_voice_id {
            Some(voice_id) => self.registry.by_voice(voice_id).await,
            None => Ok(None),
        }
    }
}
