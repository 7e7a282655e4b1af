//! The voice lifecycle's series: reuses, and deletions by reason. Recorded by the application
//! services from what the use cases return — the domain knows nothing of them — and only for
//! what happened: not a dry run, not a delete that failed.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use crate::domain::{SweepAction, SweepReason, SweepReport};

/// Why one of our voices left the account (or, `gone`, the registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeletionReason {
    /// A clone that served its conversation alone, after its post-call event.
    AfterCall,
    /// Swept: unused for `VOICE_REUSE_MAX_AGE_SECONDS`, or in a call past `MAX_CALL_SECONDS`.
    Expired,
    /// Swept: a clone of ours the registry does not know, older than the grace.
    Orphan,
    /// Our least recently used clone, to make room for a new one.
    Evicted,
    /// A clone made for a webhook whose agent update then failed.
    Rollback,
    /// A voice a lost answer left, found and deleted by the background clean-up.
    Cleanup,
    /// Swept: a registry entry whose voice had already left the account (deleted by someone
    /// else); forgotten, nothing deleted.
    Gone,
}

impl DeletionReason {
    /// Every reason, so each series exists (at 0) from the start.
    pub const ALL: [Self; 7] = [
        Self::AfterCall,
        Self::Expired,
        Self::Orphan,
        Self::Evicted,
        Self::Rollback,
        Self::Cleanup,
        Self::Gone,
    ];

    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AfterCall => "after_call",
            Self::Expired => "expired",
            Self::Orphan => "orphan",
            Self::Evicted => "evicted",
            Self::Rollback => "rollback",
            Self::Cleanup => "cleanup",
            Self::Gone => "gone",
        }
    }
}

impl From<SweepReason> for DeletionReason {
    fn from(reason: SweepReason) -> Self {
        match reason {
            SweepReason::Expired => Self::Expired,
            SweepReason::Orphan => Self::Orphan,
            SweepReason::Gone => Self::Gone,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The lifecycle series. Cheap to clone: clones share the series.
#[derive(Debug, Clone)]
pub struct LifecycleMetrics {
    reuses: Counter,
    deletions: Family<ReasonLabels, Counter>,
}

impl LifecycleMetrics {
    /// Creates the series and registers them: `voice_reuses_total` and
    /// `voice_deletions_total{reason}`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            reuses: Counter::default(),
            deletions: Family::default(),
        };
        // Every reason from the start, at 0: a rate over a series that appears only with its
        // first deletion misses that deletion.
        for reason in DeletionReason::ALL {
            let _created = metrics.deletions.get_or_create_owned(&ReasonLabels {
                reason: reason.as_str(),
            });
        }
        registry.register(
            "voice_reuses",
            "Pre-call webhooks answered with the caller's existing clone (nothing cloned); \
             replays of a handled delivery not included",
            metrics.reuses.clone(),
        );
        registry.register(
            "voice_deletions",
            "Voices of ours deleted from the account, by reason (gone: a registry entry \
             forgotten because its voice had already left the account)",
            metrics.deletions.clone(),
        );
        metrics
    }

    /// A webhook answered with a reused clone.
    pub fn reused(&self) {
        self.reuses.inc();
    }

    /// `n` voices deleted for `reason`.
    pub fn deleted(&self, reason: DeletionReason, n: u64) {
        if n > 0 {
            self.deletions
                .get_or_create(&ReasonLabels {
                    reason: reason.as_str(),
                })
                .inc_by(n);
        }
    }

    /// What a sweep deleted (or forgot), per reason; a dry run changed nothing and counts
    /// nothing.
    pub fn swept(&self, report: &SweepReport) {
        if report.dry_run {
            return;
        }
        for voice in &report.voices {
            if voice.action == SweepAction::Deleted {
                self.deleted(voice.reason.into(), 1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::prometheus_text::encode;

    use super::*;
    use crate::domain::{SweptVoice, VoiceId};

    fn swept(reason: SweepReason, action: SweepAction) -> SweptVoice {
        SweptVoice {
            voice_id: VoiceId::parse("voice_1").unwrap(),
            name: None,
            reason,
            action,
            note: None,
        }
    }

    fn deletions(registry: &Registry, reason: &str) -> String {
        let mut text = String::new();
        encode(&mut text, registry).unwrap();
        let prefix = format!("voice_deletions_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
            .to_owned()
    }

    #[test]
    fn a_sweep_counts_what_it_deleted_per_reason_and_a_dry_run_nothing() {
        let mut registry = Registry::default();
        let metrics = LifecycleMetrics::register(&mut registry);
        let voices = vec![
            swept(SweepReason::Expired, SweepAction::Deleted),
            swept(SweepReason::Expired, SweepAction::Kept),
            swept(SweepReason::Orphan, SweepAction::Deleted),
            swept(SweepReason::Orphan, SweepAction::Deleted),
            swept(SweepReason::Gone, SweepAction::Deleted),
        ];
        metrics.swept(&SweepReport {
            dry_run: true,
            listed: 5,
            voices: voices
                .iter()
                .cloned()
                .map(|v| SweptVoice {
                    action: SweepAction::WouldDelete,
                    ..v
                })
                .collect(),
        });
        assert_eq!(
            deletions(&registry, "orphan"),
            "0",
            "a dry run deletes nothing"
        );

        metrics.swept(&SweepReport {
            dry_run: false,
            listed: 5,
            voices,
        });

        assert_eq!(
            deletions(&registry, "expired"),
            "1",
            "the kept one not counted"
        );
        assert_eq!(deletions(&registry, "orphan"), "2");
        assert_eq!(deletions(&registry, "gone"), "1");
        assert_eq!(deletions(&registry, "after_call"), "0");
    }
}
