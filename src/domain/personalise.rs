//! The use case: personalise a call before it starts.
//!
//! Given a pre-call event, measure the caller's voice sample, obtain exactly one voice for the
//! conversation (adopting one an earlier, lost answer made), put it and a greeting on the agent,
//! keep the sample when storage is on, and undo the clone when the agent cannot be updated, so
//! that no orphan voice takes a slot on the operator's account.
//!
//! The work is split in two: [`PersonaliseCall::prepare`] is pure CPU work (audio probing,
//! naming, rendering) that the caller may run on a blocking pool, and
//! [`PersonaliseCall::execute`] is the I/O through the ports. The clone itself lives in
//! `obtain_voice`, reuse and registration in `reuse`, the agent update and its rollback in
//! `agent_update`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::OptionFuture;

use super::Retirement;
use super::obtain_voice::Obtained;

use super::{
    AgentId, CallOutcome, CallerKey, CallerKeySecret, CallerMetadata, ConversationId, Failure,
    GreetingTemplate, PersonaliseError, PreCallEvent, RetryPolicy, SampleLimits, UtcDateTime,
    VoiceName, VoiceSample,
};
use crate::ports::{
    AgentConfigurator, AgentUpdate, Clock, ClonePermits, SampleStore, SampleToStore, StoredSample,
    VoiceCloner, VoiceRegistry,
};

/// How the use case is tuned; from configuration.
#[derive(Debug, Clone)]
pub struct PersonaliseSettings {
    /// The greeting template (`{name}` is the caller's name).
    pub greeting: GreetingTemplate,
    /// Limits a voice sample must meet.
    pub sample_limits: SampleLimits,
    /// How long the upstream work of one webhook (clone and agent update, retries included)
    /// may take once it holds a clone slot: a caller is waiting.
    pub upstream_deadline: Duration,
    /// No clone is sent with less time than this left before the deadline.
    pub min_clone_attempt: Duration,
    /// How clones whose answer was lost are retried (after looking for the voice).
    pub retry: RetryPolicy,
    /// A caller's clone is reused this long after its last use (`VOICE_REUSE_MAX_AGE_SECONDS`);
    /// zero never reuses.
    pub reuse_max_age: Duration,
    /// Makes caller keys from phone numbers.
    pub caller_keys: CallerKeySecret,
    /// Our own cap on registered clones (`VOICE_MAX_LIVE_CLONES`); zero leaves only the
    /// account's limit.
    pub max_live_clones: usize,
    /// How the voice and greeting reach the call (`AGENT_UPDATE_MODE`).
    pub agent_update: AgentUpdateMode,
}

/// How the voice and greeting reach the call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AgentUpdateMode {
    /// PATCH the agent per pre-call webhook: simple, but every call on that agent hears the
    /// last caller's voice.
    #[default]
    Patch,
    /// Never PATCH: the clone is registered, and the conversation-initiation webhook puts it
    /// on its one call. A clone without a caller key could reach no call, so none is made.
    Override,
}

/// Time allowed to delete a voice (or to read an agent back) after the agent update failed.
/// It starts when the update has failed, so a rollback is attempted even when the webhook's
/// own deadline is spent.
pub const ROLLBACK_BUDGET: Duration = Duration::from_secs(10);

/// The ports the use case works through.
#[derive(Clone)]
pub struct PersonalisePorts {
    /// Clones, finds and deletes voices.
    pub cloner: Arc<dyn VoiceCloner>,
    /// Places among the clones in flight.
    pub permits: Arc<dyn ClonePermits>,
    /// Updates and reads agents.
    pub agents: Arc<dyn AgentConfigurator>,
    /// Knows our clones: whose they are, what they served.
    pub registry: Arc<dyn VoiceRegistry>,
    /// Keeps samples; `None` when storage is off.
    pub store: Option<Arc<dyn SampleStore>>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
    /// Measures voice samples (codec libraries stay out of the domain).
    pub probe: Arc<dyn crate::ports::AudioProbe>,
}

/// The use case. Cheap to share behind an `Arc`; holds no per-request state.
pub struct PersonaliseCall {
    pub(super) ports: PersonalisePorts,
    pub(super) settings: PersonaliseSettings,
    /// Frees a slot by retiring our least recently used clone.
    pub(super) retirement: Arc<Retirement>,
}

/// An event whose sample has been measured and whose greeting and voice name are decided:
/// everything `execute` needs, with no more CPU work left to do.
#[derive(Debug, Clone)]
pub struct PreparedCall {
    pub(super) conversation_id: ConversationId,
    pub(super) agent_id: AgentId,
    pub(super) caller: CallerMetadata,
    pub(super) received_at: i64,
    pub(super) voice: Option<(VoiceSample, VoiceName)>,
    pub(super) greeting: Option<String>,
    pub(super) caller_key: Option<CallerKey>,
}

/// A personalised call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalised {
    /// What was done.
    pub outcome: CallOutcome,
    /// A clone's answer was lost on the way, so a late duplicate of the voice may still appear
    /// on the platform: worth a look in the background.
    pub late_duplicates_possible: bool,
    /// Clones of ours deleted to make room for this call's clone (slots full, or
    /// `VOICE_MAX_LIVE_CLONES` reached): at most one per limit met.
    pub evictions: u32,
}

impl PreparedCall {
    /// The measured sample, if one was sent.
    pub fn sample(&self) -> Option<&VoiceSample> {
        self.voice.as_ref().map(|(sample, _)| sample)
    }
}

impl PersonaliseCall {
    /// Builds the use case; `retirement` (shared with the release and the sweep) frees slots.
    pub fn new(
        ports: PersonalisePorts,
        settings: PersonaliseSettings,
        retirement: Arc<Retirement>,
    ) -> Self {
        Self {
            ports,
            settings,
            retirement,
        }
    }

    /// Whether [`PersonaliseCall::prepare`] of `event` is quick enough (tens of microseconds)
    /// to run where the caller stands rather than on a blocking pool: no sample, or one the
    /// probe says it measures quickly (see
    /// [`AudioProbe::measures_quickly`](crate::ports::AudioProbe::measures_quickly)).
    pub fn prepares_quickly(&self, event: &PreCallEvent) -> bool {
        event
            .sample
            .as_ref()
            .is_none_or(|sample| self.ports.probe.measures_quickly(&sample.bytes))
    }

    /// Measures the sample and decides the voice name and greeting. CPU-bound and bounded
    /// (see [`AudioProbe::probe`](crate::ports::AudioProbe::probe)); does no I/O.
    ///
    /// # Errors
    /// [`PersonaliseError::InvalidSample`] when the sample fails its checks.
    pub fn prepare(&self, event: PreCallEvent) -> Result<PreparedCall, PersonaliseError> {
        let received_at = self.ports.clock.now_unix();
        let voice = match event.sample {
            Some(upload) => {
                let sample = self
                    .ports
                    .probe
                    .probe(upload.bytes, &self.settings.sample_limits)?;
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
        let caller_key = event
            .caller
            .phone_number()
            .and_then(|number| self.settings.caller_keys.key_of(number));
        Ok(PreparedCall {
            conversation_id: event.conversation_id,
            agent_id: event.agent_id,
            caller: event.caller,
            received_at,
            voice,
            greeting,
            caller_key,
        })
    }

    /// Obtains the voice (exactly once: see `obtain_voice`), updates the agent, keeps the
    /// sample, and rolls the voice back when the agent update fails. `voice_may_exist` says
    /// that an earlier delivery of this conversation may have made a voice already: it is
    /// looked for, and adopted, before anything is cloned.
    ///
    /// # Errors
    /// A [`Failure`]: [`PersonaliseError::CloningFailed`] or
    /// [`PersonaliseError::AgentUpdateFailed`], and whether a voice may remain.
    pub async fn execute(
        &self,
        call: PreparedCall,
        voice_may_exist: bool,
    ) -> Result<Personalised, Failure> {
        // Storage runs alongside the clone: it must not add to the caller's wait, and a sample
        // is kept even when the clone fails (that is when an operator wants to listen to it).
        let store = OptionFuture::from(self.store_sample(&call));
        let obtain = async {
            if self.settings.agent_update == AgentUpdateMode::Override && call.caller_key.is_none()
            {
                tracing::warn!(
                    "override mode without a caller phone number: no call could find a clone, so none is made"
                );
                return Ok(Obtained::nothing());
            }
            match self.reuse(&call).await {
                Some(voice) => Ok(Obtained {
                    voice: Some(voice),
                    deadline: None,
                    after_uncertainty: false,
                    reused: true,
                    evictions: 0,
                }),
                None => self.obtain_voice(&call, voice_may_exist).await,
            }
        };
        let (stored_sample, obtained) = futures_util::join!(store, obtain);
        let Obtained {
            voice,
            deadline,
            after_uncertainty,
            reused,
            evictions,
        } = obtained?;
        if let (Some(voice), false) = (&voice, reused) {
            self.register(&call, voice).await;
        }

        let update = AgentUpdate {
            voice_id: voice.as_ref().map(|v| v.voice_id.clone()),
            first_message: call.greeting.clone(),
        };
        let agent_updated =
            if update.is_empty() || self.settings.agent_update == AgentUpdateMode::Override {
                false
            } else {
                // Without a clone, the greeting's deadline starts now.
                let deadline = deadline
                    .unwrap_or_else(|| self.ports.clock.now() + self.settings.upstream_deadline);
                self.update_agent(&call.agent_id, &update, deadline, reused)
                    .await
                    .map_err(|failure| Failure {
                        evictions,
                        ..failure
                    })?;
                true
            };

        Ok(Personalised {
            outcome: CallOutcome {
                conversation_id: call.conversation_id,
                voice,
                voice_reused: reused,
                agent_updated,
                caller_info: call.caller.info(),
                stored_sample: stored_sample.flatten(),
            },
            late_duplicates_possible: after_uncertainty,
            evictions,
        })
    }

    /// `prepare` then `execute`, for callers that do not care where the CPU work runs.
    ///
    /// # Errors
    /// As for [`PersonaliseCall::prepare`] and [`PersonaliseCall::execute`].
    pub async fn run(&self, event: PreCallEvent) -> Result<CallOutcome, Failure> {
        let call = self.prepare(event)?;
        Ok(self.execute(call, false).await?.outcome)
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
}
