//! The sweep (SPEC "Voice lifecycle" 3): lists this deployment's clones on the account and
//! deletes what is no longer wanted — expired registry entries (retired the usual way, so no
//! agent loses its voice), orphans (our clones the registry does not know, older than the
//! grace, that their agent does not speak with) — and forgets registry entries whose voice is
//! gone from the account. A dry run decides and reports, and changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Retired, Retirement, VoiceId, VoiceName};
use crate::ports::{
    AgentConfigurator, Clock, ListedVoice, RegistryError, UpstreamError, VoiceCloner, VoiceEntry,
    VoiceRegistry, VoiceState,
};

/// Time allowed for listing the account, and for each delete or agent read after it.
pub const SWEEP_CALL_BUDGET: Duration = Duration::from_secs(30);

/// What the sweep talks to.
pub struct SweepPorts {
    /// Lists and deletes voices.
    pub cloner: Arc<dyn VoiceCloner>,
    /// Reads (and, retiring, puts back) agents.
    pub agents: Arc<dyn AgentConfigurator>,
    /// The registry of our clones.
    pub registry: Arc<dyn VoiceRegistry>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
}

/// When a clone is no longer wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSettings {
    /// `VOICE_REUSE_MAX_AGE_SECONDS`: a live clone unused this long has expired (zero: at once).
    pub reuse_max_age: Duration,
    /// `VOICE_ORPHAN_GRACE_SECONDS`: an unregistered clone younger than this is left alone (it
    /// may be a clone whose webhook is still registering it).
    pub orphan_grace: Duration,
    /// `MAX_CALL_SECONDS`: a clone bound to a call this long is released even without its
    /// post-call event.
    pub max_call: Duration,
}

/// Why the sweep looked at a voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SweepReason {
    /// A registry entry past its reuse window (or its call past `MAX_CALL_SECONDS`).
    Expired,
    /// Our clone, unknown to the registry.
    Orphan,
    /// A registry entry whose voice is no longer on the account.
    Gone,
}

impl SweepReason {
    /// Its name in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Orphan => "orphan",
            Self::Gone => "gone",
        }
    }
}

impl fmt::Display for SweepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the sweep did (or, dry, would do) with a voice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SweepAction {
    /// Deleted from the account (a registry entry gone from the account: forgotten).
    Deleted,
    /// A dry run: would be deleted (or forgotten).
    WouldDelete,
    /// Left on the account.
    Kept,
}

impl SweepAction {
    /// Its name in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleted => "deleted",
            Self::WouldDelete => "would delete",
            Self::Kept => "kept",
        }
    }
}

impl fmt::Display for SweepAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One voice the sweep looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptVoice {
    /// The voice.
    pub voice_id: VoiceId,
    /// Its name, when known.
    pub name: Option<VoiceName>,
    /// Why it was looked at.
    pub reason: SweepReason,
    /// What became of it.
    pub action: SweepAction,
    /// Why it was kept, or what else there is to say.
    pub note: Option<String>,
}

/// What one sweep came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// How many of our voices the account holds.
    pub listed: usize,
    /// Every voice it acted on or decided to keep, in the order it looked at them.
    pub voices: Vec<SweptVoice>,
}

impl SweepReport {
    /// How many voices had `reason` and came to `action`.
    pub fn count(&self, reason: SweepReason, action: SweepAction) -> usize {
        self.voices
            .iter()
            .filter(|v| v.reason == reason && v.action == action)
            .count()
    }

    /// Per reason, how many voices were deleted (or would be).
    pub fn removed_per_reason(&self) -> BTreeMap<SweepReason, usize> {
        let mut counts = BTreeMap::new();
        for voice in &self.voices {
            if voice.action != SweepAction::Kept {
                *counts.entry(voice.reason).or_insert(0) += 1;
            }
        }
        counts
    }

    /// The voices deleted (or, dry, to be deleted).
    pub fn removed(&self) -> Vec<VoiceId> {
        self.voices
            .iter()
            .filter(|v| v.action != SweepAction::Kept)
            .map(|v| v.voice_id.clone())
            .collect()
    }
}

/// Why a sweep could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    /// The account could not be listed.
    #[error("cannot list the voices on the account: {0}")]
    Listing(#[from] UpstreamError),
    /// The registry could not be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

/// One of our voices on the account, with what the registry knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryItem {
    /// The voice as listed.
    pub voice: ListedVoice,
    /// Its registry entry, if the registry knows it.
    pub entry: Option<VoiceEntry>,
}

/// The sweep use case.
pub struct Sweep {
    ports: SweepPorts,
    settings: SweepSettings,
    retirement: Arc<Retirement>,
}

impl Sweep {
    /// Builds it; `retirement` (shared with the release and eviction) deletes what is swept.
    pub fn new(ports: SweepPorts, settings: SweepSettings, retirement: Arc<Retirement>) -> Self {
        Self {
            ports,
            settings,
            retirement,
        }
    }

    /// Our voices on the account, each with its registry entry when there is one.
    ///
    /// # Errors
    /// When the account cannot be listed or the registry read.
    pub async fn inventory(&self) -> Result<Vec<InventoryItem>, SweepError> {
        let entries = self.entries().await?;
        let listed = self.list().await?;
        Ok(listed
            .into_iter()
            .map(|voice| {
                let entry = entries.get(&voice.voice_id).cloned();
                InventoryItem { voice, entry }
            })
            .collect())
    }

    /// Runs one sweep; `dry_run` decides and reports without changing anything.
    ///
    /// # Errors
    /// When the account cannot be listed or the registry read: then nothing was changed.
    pub async fn run(&self, dry_run: bool) -> Result<SweepReport, SweepError> {
        // The registry first: an entry registered after this is not looked at, and its voice,
        // if listed, is younger than the orphan grace (and checked against the registry again
        // before it is deleted).
        let entries = self.entries().await?;
        let listed = self.list().await?;
        let mut report = SweepReport {
            dry_run,
            listed: listed.len(),
            voices: Vec::new(),
        };
        let on_account: HashSet<&VoiceId> = listed.iter().map(|v| &v.voice_id).collect();
        let now_unix = self.ports.clock.now_unix();

        let mut registered: Vec<&VoiceEntry> = entries.values().collect();
        registered.sort_by_key(|e| (e.created_at, e.voice_id.as_str().to_owned()));
        for entry in registered {
            if !on_account.contains(&entry.voice_id) {
                report.voices.push(self.forget_gone(entry, dry_run).await);
            } else if let Some(in_call) = self.expired(entry, now_unix) {
                report
                    .voices
                    .push(self.retire_expired(entry, in_call, dry_run).await);
            }
        }
        for voice in &listed {
            if !entries.contains_key(&voice.voice_id)
                && let Some(swept) = self.sweep_orphan(voice, now_unix, dry_run).await
            {
                report.voices.push(swept);
            }
        }
        Ok(report)
    }

    async fn entries(&self) -> Result<HashMap<VoiceId, VoiceEntry>, SweepError> {
        Ok(self
            .ports
            .registry
            .entries()
            .await?
            .into_iter()
            .map(|e| (e.voice_id.clone(), e))
            .collect())
    }

    async fn list(&self) -> Result<Vec<ListedVoice>, SweepError> {
        let deadline = self.ports.clock.now() + SWEEP_CALL_BUDGET;
        Ok(self.ports.cloner.list_voices(deadline).await?)
    }

    /// `Some(in_call)` when `entry` has expired at `now_unix`.
    fn expired(&self, entry: &VoiceEntry, now_unix: i64) -> Option<bool> {
        match entry.state {
            VoiceState::Live => (entry
                .last_used
                .saturating_add(secs(self.settings.reuse_max_age))
                <= now_unix)
                .then_some(false),
            VoiceState::InCall { since, .. } => {
                (since.saturating_add(secs(self.settings.max_call)) <= now_unix).then_some(true)
            }
        }
    }

    async fn forget_gone(&self, entry: &VoiceEntry, dry_run: bool) -> SweptVoice {
        let mut swept = swept(&entry.voice_id, Some(&entry.voice_name), SweepReason::Gone);
        if dry_run {
            swept.action = SweepAction::WouldDelete;
            swept.note = Some("no longer on the account: would be forgotten".into());
            return swept;
        }
        match self.ports.registry.take(&entry.voice_id, true).await {
            Ok(_) => {
                tracing::info!(voice_id = %entry.voice_id, reason = "gone", "voice no longer on the account; forgotten");
                swept.action = SweepAction::Deleted;
                swept.note = Some("no longer on the account: forgotten".into());
            }
            Err(error) => {
                tracing::warn!(voice_id = %entry.voice_id, %error, "cannot forget a voice gone from the account");
                swept.note = Some(format!("cannot forget it: {error}"));
            }
        }
        swept
    }

    async fn retire_expired(&self, entry: &VoiceEntry, in_call: bool, dry_run: bool) -> SweptVoice {
        let voice_id = &entry.voice_id;
        let mut swept = swept(voice_id, Some(&entry.voice_name), SweepReason::Expired);
        if in_call {
            swept.note = Some("in a call past MAX_CALL_SECONDS".into());
        }
        if dry_run {
            swept.action = SweepAction::WouldDelete;
            return swept;
        }
        if in_call && let Err(error) = self.ports.registry.end_call(voice_id).await {
            tracing::warn!(%voice_id, %error, "cannot end the overdue call; keeping the clone");
            swept.note = Some(format!("cannot end its call: {error}"));
            return swept;
        }
        match self.retirement.retire(voice_id).await {
            Retired::Deleted => {
                tracing::info!(%voice_id, reason = "expired", "expired clone deleted");
                swept.action = SweepAction::Deleted;
            }
            Retired::DeleteFailed => {
                swept.note = Some("the delete failed: an orphan for the next sweep".into());
            }
            Retired::KeptInUse => {
                swept.note = Some("its agent speaks with it and cannot be put back".into());
            }
            Retired::NotTaken => {
                swept.note = Some("taken or bound to a call meanwhile".into());
            }
        }
        swept
    }

    async fn sweep_orphan(
        &self,
        voice: &ListedVoice,
        now_unix: i64,
        dry_run: bool,
    ) -> Option<SweptVoice> {
        let voice_id = &voice.voice_id;
        let mut swept = swept(voice_id, Some(&voice.name), SweepReason::Orphan);
        let Some(created) = voice.created_at_unix else {
            swept.note = Some("creation time unknown".into());
            return Some(swept);
        };
        if created.saturating_add(secs(self.settings.orphan_grace)) > now_unix {
            // Young: perhaps a clone whose webhook is still registering it. Not worth a line.
            return None;
        }
        let Some(agent_id) = &voice.agent_id else {
            swept.note = Some("no agent_id label: cannot check that no agent uses it".into());
            return Some(swept);
        };
        let deadline = self.ports.clock.now() + SWEEP_CALL_BUDGET;
        match self.ports.agents.read_agent(agent_id, deadline).await {
            Ok(agent) if agent.voice_id.as_ref() == Some(voice_id) => {
                swept.note = Some(format!("agent {agent_id} speaks with it"));
                return Some(swept);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%voice_id, %agent_id, %error, "cannot read the orphan's agent; keeping it");
                swept.note = Some(format!("cannot read agent {agent_id}: {error}"));
                return Some(swept);
            }
        }
        if dry_run {
            swept.action = SweepAction::WouldDelete;
            return Some(swept);
        }
        // Registered since the listing (the registry was read before it): not an orphan.
        match self.ports.registry.by_voice(voice_id).await {
            Ok(None) => {}
            Ok(Some(_)) => return None,
            Err(error) => {
                swept.note = Some(format!("cannot check the registry: {error}"));
                return Some(swept);
            }
        }
        let deadline = self.ports.clock.now() + SWEEP_CALL_BUDGET;
        match self.ports.cloner.delete_voice(voice_id, deadline).await {
            Ok(()) => {
                tracing::info!(%voice_id, %agent_id, reason = "orphan", "orphaned clone deleted");
                swept.action = SweepAction::Deleted;
            }
            Err(error) => {
                tracing::warn!(%voice_id, %error, "cannot delete the orphaned clone");
                swept.note = Some(format!("the delete failed: {error}"));
            }
        }
        Some(swept)
    }
}

fn swept(voice_id: &VoiceId, name: Option<&VoiceName>, reason: SweepReason) -> SweptVoice {
    SweptVoice {
        voice_id: voice_id.clone(),
        name: name.cloned(),
        reason,
        action: SweepAction::Kept,
        note: None,
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
