//! Exactly one voice per conversation. A clone whose answer may have been lost (a timeout, a
//! 5xx, a reset after sending, a garbled 2xx) may have made the voice anyway, so before any
//! new clone — in this delivery, or in a later one told so by the ledger — the voice is looked
//! up on the platform by its conversation label and adopted if it is there.

use std::time::Instant;

use super::personalise::{PersonaliseCall, PreparedCall, ROLLBACK_BUDGET};
use super::{Failure, NewVoice, PersonaliseError, VoiceName, VoiceSample};
use crate::ports::{CloneRequest, FoundVoice, UpstreamError};

/// The conversation's voice and what it took to get it.
pub(super) struct Obtained {
    /// The voice; `None` without a sample.
    pub(super) voice: Option<NewVoice>,
    /// The deadline the upstream work runs to, once a clone slot was held.
    pub(super) deadline: Option<Instant>,
    /// An answer was lost on the way: a late duplicate may still appear on the platform.
    pub(super) after_uncertainty: bool,
    /// The caller's existing clone was reused: nothing was cloned.
    pub(super) reused: bool,
    /// Clones of ours deleted to make room for this one.
    pub(super) evictions: u32,
}

impl Obtained {
    /// No voice, and nothing done upstream.
    pub(super) fn nothing() -> Self {
        Self {
            voice: None,
            deadline: None,
            after_uncertainty: false,
            reused: false,
            evictions: 0,
        }
    }
}

/// Where the clone loop stands.
struct Progress {
    /// A voice for this conversation may exist on the platform.
    may_exist: bool,
    /// Clones sent again after an uncertain answer.
    retries: u32,
    /// The account's limit was met once already (it makes room at most once per webhook).
    evicted: bool,
    /// Clones of ours deleted to make room, under our own cap or the account's limit.
    evictions: u32,
}

impl PersonaliseCall {
    /// The conversation's voice, with the deadline its upstream work runs to (it starts once a
    /// clone slot is held, so queueing never eats into it).
    pub(super) async fn obtain_voice(
        &self,
        call: &PreparedCall,
        voice_may_exist: bool,
    ) -> Result<Obtained, Failure> {
        let Some((sample, name)) = &call.voice else {
            return Ok(Obtained::nothing());
        };
        let failed = |error: UpstreamError, voice_may_remain: bool, progress: &Progress| Failure {
            error: PersonaliseError::CloningFailed(error),
            voice_may_remain,
            evictions: progress.evictions,
        };
        let mut progress = Progress {
            may_exist: voice_may_exist,
            retries: 0,
            evicted: false,
            evictions: 0,
        };
        let _permit = self
            .ports
            .permits
            .acquire()
            .await
            .map_err(|error| failed(error, voice_may_exist, &progress))?;
        let deadline = self.ports.clock.now() + self.settings.upstream_deadline;
        let obtained = |voice: NewVoice, progress: &Progress| Obtained {
            voice: Some(voice),
            deadline: Some(deadline),
            after_uncertainty: progress.may_exist,
            reused: false,
            evictions: progress.evictions,
        };
        let mut under_cap = false;
        loop {
            if progress.may_exist {
                match self.adopt_existing(call, deadline).await {
                    Ok(Some(voice)) => return Ok(obtained(voice, &progress)),
                    Ok(None) => {}
                    // Cloning now could make a second voice: fail, and let the clean-up look.
                    Err(error) => return Err(failed(error, true, &progress)),
                }
            }
            if !under_cap {
                match self.room_under_own_cap().await {
                    Ok(evicted) => progress.evictions += u32::from(evicted),
                    Err(error) => return Err(failed(error, progress.may_exist, &progress)),
                }
                under_cap = true;
            }
            match self.clone_once(call, sample, name, deadline).await {
                Ok(voice) => return Ok(obtained(voice, &progress)),
                Err(UpstreamError::Uncertain {
                    reason,
                    retry_after,
                }) => {
                    progress.may_exist = true;
                    progress.retries += 1;
                    let wait = self.settings.retry.delay(progress.retries, retry_after);
                    let room = deadline.saturating_duration_since(self.ports.clock.now());
                    if progress.retries > self.settings.retry.max_retries
                        || wait + self.settings.min_clone_attempt > room
                    {
                        let error = UpstreamError::Uncertain {
                            reason,
                            retry_after,
                        };
                        return Err(failed(error, true, &progress));
                    }
                    tracing::warn!(
                        %reason,
                        retry = progress.retries,
                        delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "the clone's answer was lost; looking for the voice before cloning again"
                    );
                    self.ports.clock.sleep(wait).await;
                }
                Err(UpstreamError::VoiceLimitReached(reason)) if !progress.evicted => {
                    progress.evicted = true;
                    if !self.make_room().await {
                        let error = UpstreamError::VoiceLimitReached(format!(
                            "{reason} (no clone of ours could be freed: all are in a call or in use)"
                        ));
                        return Err(failed(error, progress.may_exist, &progress));
                    }
                    progress.evictions += 1;
                }
                Err(error) => return Err(failed(error, progress.may_exist, &progress)),
            }
        }
    }

    async fn clone_once(
        &self,
        call: &PreparedCall,
        sample: &VoiceSample,
        name: &VoiceName,
        deadline: Instant,
    ) -> Result<NewVoice, UpstreamError> {
        let cloned = self
            .ports
            .cloner
            .clone_voice(CloneRequest {
                name,
                sample,
                conversation_id: &call.conversation_id,
                agent_id: &call.agent_id,
                deadline,
                min_attempt: self.settings.min_clone_attempt,
            })
            .await?;
        if cloned.requires_verification {
            tracing::warn!(voice_id = %cloned.voice_id, "the platform wants the new voice verified");
        }
        tracing::info!(voice_id = %cloned.voice_id, "voice cloned");
        Ok(NewVoice {
            voice_id: cloned.voice_id,
            voice_name: name.clone(),
        })
    }

    /// Looks for a voice an earlier attempt made for this conversation and adopts the oldest;
    /// any others (several lost answers) are duplicates and are deleted.
    async fn adopt_existing(
        &self,
        call: &PreparedCall,
        deadline: Instant,
    ) -> Result<Option<NewVoice>, UpstreamError> {
        let mut found = self
            .ports
            .cloner
            .find_voices(&call.conversation_id, deadline)
            .await?
            .into_iter();
        let Some(FoundVoice { voice_id, name }) = found.next() else {
            return Ok(None);
        };
        tracing::warn!(%voice_id, "an earlier clone of this conversation made the voice after all; adopting it");
        let cleanup_deadline = self.ports.clock.now() + ROLLBACK_BUDGET;
        for duplicate in found {
            match self
                .ports
                .cloner
                .delete_voice(&duplicate.voice_id, cleanup_deadline)
                .await
            {
                Ok(()) => {
                    tracing::warn!(voice_id = %duplicate.voice_id, "deleted a duplicate voice of this conversation")
                }
                Err(error) => {
                    tracing::error!(voice_id = %duplicate.voice_id, %error, "could not delete a duplicate voice of this conversation; the sweep will")
                }
            }
        }
        Ok(Some(NewVoice {
            voice_id,
            voice_name: name,
        }))
    }
}
