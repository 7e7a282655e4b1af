//! The use case: personalise a call before it starts.
//!
//! Given a pre-call event, measure the caller's voice sample, clone it, put the new voice and a
//! greeting on the agent, keep the sample when storage is on, and undo the clone when the agent
//! cannot be updated, so that no orphan voice takes a slot on the operator's account.
//!
//! The work is split in two: [`PersonaliseCall::prepare`] is pure CPU work (audio probing,
//! naming, rendering) that the caller may run on a blocking pool, and
//! [`PersonaliseCall::execute`] is the I/O through the ports. Later delivery paths (a voice
//! registry answering ElevenLabs' conversation-initiation webhook) reuse `prepare` and the
//! cloning step without the agent PATCH.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::OptionFuture;

use super::{
    AgentId, CallerInfo, CallerMetadata, ConversationId, GreetingTemplate, PreCallEvent,
    SampleLimits, UtcDateTime, VoiceId, VoiceName, VoiceSample, VoiceSampleError,
};
use crate::ports::{
    AgentConfigurator, AgentUpdate, Clock, CloneRequest, SampleStore, SampleToStore, StoredSample,
    UpstreamError, VoiceCloner,
};

/// How the use case is tuned; from configuration.
#[derive(Debug, Clone)]
pub struct PersonaliseSettings {
    /// The greeting template (`{name}` is the caller's name).
    pub greeting: GreetingTemplate,
    /// Limits a voice sample must meet.
    pub sample_limits: SampleLimits,
    /// How long the upstream work of one webhook (clone and agent update, retries included)
    /// may take: a caller is waiting.
    pub upstream_deadline: Duration,
}

/// Time allowed to delete a voice after a failed agent update. It starts when the update has
/// failed, so a rollback is attempted even when the webhook's own deadline is spent.
pub const ROLLBACK_BUDGET: Duration = Duration::from_secs(10);

/// The ports the use case works through.
#[derive(Clone)]
pub struct PersonalisePorts {
    /// Clones and deletes voices.
    pub cloner: Arc<dyn VoiceCloner>,
    /// Updates agents.
    pub agents: Arc<dyn AgentConfigurator>,
    /// Keeps samples; `None` when storage is off.
    pub store: Option<Arc<dyn SampleStore>>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
}

/// The use case. Cheap to share behind an `Arc`; holds no per-request state.
pub struct PersonaliseCall {
    ports: PersonalisePorts,
    settings: PersonaliseSettings,
}

/// An event whose sample has been measured and whose greeting and voice name are decided:
/// everything `execute` needs, with no more CPU work left to do.
#[derive(Debug, Clone)]
pub struct PreparedCall {
    conversation_id: ConversationId,
    agent_id: AgentId,
    caller: CallerMetadata,
    received_at: i64,
    voice: Option<(VoiceSample, VoiceName)>,
    greeting: Option<String>,
}

impl PreparedCall {
    /// The measured sample, if one was sent.
    pub fn sample(&self) -> Option<&VoiceSample> {
        self.voice.as_ref().map(|(sample, _)| sample)
    }
}

/// A voice created for this call.
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
    /// The cloned voice; `None` when no sample was sent.
    pub voice: Option<NewVoice>,
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
    /// The delete failed: the voice is an orphan on the account.
    Failed(VoiceId),
}

/// Why the call could not be personalised. The edge maps each variant to one row of the
/// error table; `Display` is the message the sender sees.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PersonaliseError {
    /// The sample is not usable audio, too short or too large.
    #[error(transparent)]
    InvalidSample(#[from] VoiceSampleError),
    /// The platform did not create the voice.
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

impl PersonaliseCall {
    /// Builds the use case.
    pub fn new(ports: PersonalisePorts, settings: PersonaliseSettings) -> Self {
        Self { ports, settings }
    }

    /// Measures the sample and decides the voice name and greeting. CPU-bound and bounded
    /// (see [`VoiceSample::probe`]); does no I/O.
    ///
    /// # Errors
    /// [`PersonaliseError::InvalidSample`] when the sample fails its checks.
    pub fn prepare(&self, event: PreCallEvent) -> Result<PreparedCall, PersonaliseError> {
        let received_at = self.ports.clock.now_unix();
        let voice = match event.sample {
            Some(upload) => {
                let sample = VoiceSample::probe(upload.bytes, &self.settings.sample_limits)?;
                if let Some(claimed) = upload
                    .claimed_duration_seconds
                    .filter(|claimed| (claimed - sample.duration_seconds()).abs() > 0.5)
                {
                    tracing::debug!(
                        claimed_seconds = claimed,
                        measured_seconds = sample.duration_seconds(),
                        "sender's duration claim differs from the audio; using the measurement"
                    );
                }
                let name =
                    VoiceName::for_caller(event.caller.name(), UtcDateTime::from_unix(received_at));
                Some((sample, name))
            }
            None => None,
        };
        let greeting = event
            .caller
            .name()
            .map(|name| self.settings.greeting.render(name));
        Ok(PreparedCall {
            conversation_id: event.conversation_id,
            agent_id: event.agent_id,
            caller: event.caller,
            received_at,
            voice,
            greeting,
        })
    }

    /// Clones the voice, updates the agent, keeps the sample, and rolls the voice back when
    /// the agent update fails.
    ///
    /// # Errors
    /// [`PersonaliseError::CloningFailed`] or [`PersonaliseError::AgentUpdateFailed`].
    pub async fn execute(&self, call: PreparedCall) -> Result<CallOutcome, PersonaliseError> {
        // Storage runs alongside the clone: it must not add to the caller's wait, and a sample
        // is kept even when the clone fails (that is when an operator wants to listen to it).
        let deadline = Instant::now() + self.settings.upstream_deadline;
        let store = OptionFuture::from(self.store_sample(&call));
        let clone = OptionFuture::from(call.voice.as_ref().map(|(sample, name)| {
            self.ports.cloner.clone_voice(CloneRequest {
                name,
                sample,
                conversation_id: &call.conversation_id,
                agent_id: &call.agent_id,
                deadline,
            })
        }));
        let (stored_sample, cloned) = futures_util::join!(store, clone);

        let voice = match (cloned.transpose(), &call.voice) {
            (Err(error), _) => return Err(PersonaliseError::CloningFailed(error)),
            (Ok(Some(cloned)), Some((_, name))) => {
                if cloned.requires_verification {
                    tracing::warn!(voice_id = %cloned.voice_id, "the platform wants the new voice verified");
                }
                Some(NewVoice {
                    voice_id: cloned.voice_id,
                    voice_name: name.clone(),
                })
            }
            _ => None,
        };

        let update = AgentUpdate {
            voice_id: voice.as_ref().map(|v| v.voice_id.clone()),
            first_message: call.greeting.clone(),
        };
        let agent_updated = if update.is_empty() {
            false
        } else if let Err(source) = self
            .ports
            .agents
            .update_agent(&call.agent_id, &update, deadline)
            .await
        {
            let rollback = self.roll_back(voice.map(|v| v.voice_id)).await;
            return Err(PersonaliseError::AgentUpdateFailed { source, rollback });
        } else {
            true
        };

        Ok(CallOutcome {
            conversation_id: call.conversation_id,
            voice,
            agent_updated,
            caller_info: call.caller.info(),
            stored_sample: stored_sample.flatten(),
        })
    }

    /// `prepare` then `execute`, for callers that do not care where the CPU work runs.
    ///
    /// # Errors
    /// As for [`PersonaliseCall::prepare`] and [`PersonaliseCall::execute`].
    pub async fn run(&self, event: PreCallEvent) -> Result<CallOutcome, PersonaliseError> {
        let call = self.prepare(event)?;
        self.execute(call).await
    }

    fn store_sample<'a>(
        &'a self,
        call: &'a PreparedCall,
    ) -> Option<impl Future<Output = Option<StoredSample>> + 'a> {
        let store = self.ports.store.as_ref()?;
        let (sample, _) = call.voice.as_ref()?;
        Some(async move {
            let request = SampleToStore {
                conversation_id: &call.conversation_id,
                sample,
                received_at: call.received_at,
            };
            match store.save(request).await {
                Ok(stored) => Some(stored),
                Err(error) => {
                    // Keeping samples is a convenience for the operator; a caller waiting on the
                    // line must not lose their personalised call because a disk is full.
                    tracing::error!(%error, "could not store the voice sample; continuing without it");
                    None
                }
            }
        })
    }

    async fn roll_back(&self, voice_id: Option<VoiceId>) -> Rollback {
        let Some(voice_id) = voice_id else {
            return Rollback::NotNeeded;
        };
        let deadline = Instant::now() + ROLLBACK_BUDGET;
        match self.ports.cloner.delete_voice(&voice_id, deadline).await {
            Ok(()) => {
                tracing::info!(%voice_id, "agent update failed; the new voice was deleted again");
                Rollback::Deleted(voice_id)
            }
            Err(error) => {
                tracing::error!(
                    %voice_id, %error,
                    "agent update failed and the new voice could not be deleted: it is an orphan \
                     on the ElevenLabs account; delete it by hand"
                );
                Rollback::Failed(voice_id)
            }
        }
    }
}
