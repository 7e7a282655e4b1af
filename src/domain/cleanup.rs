//! The clean-up after a delivery that may have left a voice behind. The webhook has already
//! been answered; this keeps looking for the conversation's voices for a budget of its own and
//! deletes them — never a voice the agent is using, and:
//! - after a failed delivery (a clone whose answer was lost, a rollback that failed or was not
//!   safe), every voice it finds, unless a redelivery of the same conversation has claimed it
//!   meanwhile (that delivery adopts the voice);
//! - after a successful one whose way went through a lost answer, every voice but the one the
//!   call got (a late duplicate of a clone sent twice).

use std::sync::Arc;
use std::time::Duration;

use super::{
    AgentId, ConversationId, Deliveries, DeliveryTicket, Fingerprint, Settlement, VoiceId,
};
use crate::ports::{AgentConfigurator, Clock, FoundVoice, VoiceCloner, VoiceRegistry};

/// How long the clean-up looks, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupSettings {
    /// Longest the clean-up of one delivery runs.
    pub budget: Duration,
    /// Pause between two looks at the platform.
    pub poll_interval: Duration,
}

/// Whose voices to look for.
#[derive(Debug, Clone)]
pub struct CleanupTarget {
    /// The conversation of the failed delivery.
    pub conversation_id: ConversationId,
    /// The agent that may be using the voice.
    pub agent_id: AgentId,
    /// The failed delivery's fingerprint (the clean-up claims the conversation like it).
    pub fingerprint: Fingerprint,
    /// The voice the delivery succeeded with, which is kept; `None` after a failure.
    pub keep: Option<VoiceId>,
}

/// How a clean-up ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CleanupOutcome {
    /// The voices found were deleted; how many.
    Deleted(usize),
    /// A redelivery holds or completed the conversation: the voice is its to adopt.
    TakenOver,
    /// Voices were found but some could not be deleted (or the agent uses them, or could not
    /// be read): left for the sweep, and the next delivery will look for them.
    Left(usize),
    /// Nothing appeared within the budget.
    NothingFound,
}

/// The clean-up use case.
pub struct Cleanup {
    cloner: Arc<dyn VoiceCloner>,
    agents: Arc<dyn AgentConfigurator>,
    registry: Arc<dyn VoiceRegistry>,
    deliveries: Arc<Deliveries>,
    clock: Arc<dyn Clock>,
    settings: CleanupSettings,
}

impl Cleanup {
    /// Builds it.
    pub fn new(
        cloner: Arc<dyn VoiceCloner>,
        agents: Arc<dyn AgentConfigurator>,
        registry: Arc<dyn VoiceRegistry>,
        deliveries: Arc<Deliveries>,
        clock: Arc<dyn Clock>,
        settings: CleanupSettings,
    ) -> Self {
        Self {
            cloner,
            agents,
            registry,
            deliveries,
            clock,
            settings,
        }
    }

    /// Looks for the target's voices until the budget is spent and deletes them. Finding and
    /// deleting some does not end the look: every attempt whose answer was lost may have made a
    /// voice, and each appears when the platform gets to it.
    pub async fn run(&self, target: &CleanupTarget) -> CleanupOutcome {
        let deadline = self.clock.now() + self.settings.budget;
        let mut deleted = 0;
        loop {
            match self
                .cloner
                .find_voices(&target.conversation_id, deadline)
                .await
            {
                Ok(found) => {
                    let found: Vec<FoundVoice> = found
                        .into_iter()
                        .filter(|v| target.keep.as_ref() != Some(&v.voice_id))
                        .collect();
                    if !found.is_empty() {
                        match self.delete_found(target, found).await {
                            CleanupOutcome::Deleted(n) => deleted += n,
                            // Taken over, or left for the sweep: nothing more for us to do.
                            done => return done,
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "clean-up could not list the voices; looking again")
                }
            }
            let left = deadline.saturating_duration_since(self.clock.now());
            if left <= self.settings.poll_interval {
                tracing::info!(
                    deleted,
                    "clean-up's budget is spent; a voice appearing later is the sweep's"
                );
                return match deleted {
                    0 => CleanupOutcome::NothingFound,
                    n => CleanupOutcome::Deleted(n),
                };
            }
            self.clock.sleep(self.settings.poll_interval).await;
        }
    }

    async fn delete_found(&self, target: &CleanupTarget, found: Vec<FoundVoice>) -> CleanupOutcome {
        // After a success the delivery owns its voice and the rest are duplicates nobody can
        // adopt; after a failure a redelivery may be adopting them, so the conversation is
        // claimed first.
        let ticket = match target.keep {
            Some(_) => None,
            None => match self
                .deliveries
                .claim_for_cleanup(&target.conversation_id, target.fingerprint)
                .await
            {
                Ok(Some(ticket)) => Some(ticket),
                Ok(None) => {
                    tracing::info!("a redelivery holds this conversation; it adopts the voice");
                    return CleanupOutcome::TakenOver;
                }
                Err(error) => {
                    tracing::error!(%error, "clean-up cannot claim the conversation; the voice is the sweep's");
                    return CleanupOutcome::Left(found.len());
                }
            },
        };
        let deadline = self.clock.now() + self.settings.budget;
        let in_use = match self.agents.read_agent(&target.agent_id, deadline).await {
            Ok(settings) => settings.voice_id,
            Err(error) => {
                tracing::error!(%error, "clean-up cannot read the agent; keeping the voices it may use");
                self.settle(ticket).await;
                return CleanupOutcome::Left(found.len());
            }
        };
        let mut deleted = 0;
        for voice in &found {
            if in_use.as_ref() == Some(&voice.voice_id) {
                tracing::warn!(voice_id = %voice.voice_id, "clean-up keeps a voice the agent uses");
                continue;
            }
            // A registered voice is deleted only by whoever takes its entry; one bound to a
            // call is not ours to delete now.
            let registered = self.registry.by_voice(&voice.voice_id).await;
            if matches!(registered, Ok(Some(_)) | Err(_))
                && !matches!(
                    self.registry.take(&voice.voice_id, false).await,
                    Ok(Some(_))
                )
            {
                tracing::warn!(voice_id = %voice.voice_id, "clean-up leaves a voice the registry keeps");
                continue;
            }
            match self.cloner.delete_voice(&voice.voice_id, deadline).await {
                Ok(()) => {
                    tracing::info!(voice_id = %voice.voice_id, "clean-up deleted a voice left by a lost answer");
                    deleted += 1;
                }
                Err(error) => {
                    tracing::error!(voice_id = %voice.voice_id, %error, "clean-up could not delete the voice; it is the sweep's")
                }
            }
        }
        self.settle(ticket).await;
        match found.len() - deleted {
            0 => CleanupOutcome::Deleted(deleted),
            left => CleanupOutcome::Left(left),
        }
    }

    /// Gives the claim back, still uncertain: a late create may yet appear, so the next
    /// delivery looks first.
    async fn settle(&self, ticket: Option<DeliveryTicket>) {
        if let Some(ticket) = ticket {
            self.deliveries
                .finish(
                    ticket,
                    Settlement::Failed {
                        voice_may_exist: true,
                    },
                )
                .await;
        }
    }
}
