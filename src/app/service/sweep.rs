//! The periodic sweep: one soon after start-up, then one every `VOICE_SWEEP_INTERVAL_SECONDS`,
//! until the shutdown signal cancels it (a sweep cut off half-way leaves at most an orphan,
//! which the next sweep deletes). Of several replicas on one store only the holder of the sweep
//! lease sweeps; it renews the lease each interval and gives it up on shutdown, and should it
//! vanish, another replica takes over once the lease lapses.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::metrics::LifecycleMetrics;
use crate::domain::{Sweep, SweepReport};
use crate::ports::{LeaseHolder, SweepLease};

/// The longest wait for the first sweep after start-up.
pub const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(10);

/// When and as whom to sweep.
pub struct SweepSchedule {
    /// Time between two sweeps; not zero.
    pub interval: Duration,
    /// Decides which replica sweeps.
    pub lease: Arc<dyn SweepLease>,
    /// This replica.
    pub holder: LeaseHolder,
}

impl SweepSchedule {
    /// How long the lease is held per renewal: two intervals and a minute, so a holder that is
    /// busy sweeping renews it before it lapses, and one that vanished is replaced within that.
    fn lease_ttl(&self) -> Duration {
        self.interval * 2 + Duration::from_secs(60)
    }
}

/// Sweeps every `schedule.interval` (the first after the interval or [`FIRST_SWEEP_AFTER`],
/// whichever is shorter) while this replica holds the sweep lease, until `stop` is cancelled,
/// counting what each sweep deleted in `metrics`.
pub async fn sweep_periodically(
    sweep: Arc<Sweep>,
    schedule: SweepSchedule,
    stop: CancellationToken,
    metrics: LifecycleMetrics,
) {
    let sweeping = async {
        tokio::time::sleep(schedule.interval.min(FIRST_SWEEP_AFTER)).await;
        let mut leading = false;
        loop {
            match schedule
                .lease
                .try_acquire(&schedule.holder, schedule.lease_ttl())
                .await
            {
                Ok(true) => {
                    if !leading {
                        tracing::info!(replica = %schedule.holder.as_str(), "this replica holds the sweep lease: it sweeps");
                        leading = true;
                    }
                    match sweep.run(false).await {
                        Ok(report) => {
                            metrics.swept(&report);
                            log(&report);
                        }
                        Err(error) => {
                            tracing::warn!(%error, "sweep skipped; trying again next interval");
                        }
                    }
                }
                Ok(false) => {
                    if leading {
                        tracing::info!("another replica holds the sweep lease now");
                    }
                    leading = false;
                    tracing::debug!("another replica holds the sweep lease: not sweeping");
                }
                Err(error) => {
                    leading = false;
                    tracing::warn!(%error, "cannot take the sweep lease; not sweeping this interval");
                }
            }
            tokio::time::sleep(schedule.interval).await;
        }
    };
    tokio::select! {
        () = stop.cancelled() => {
            // Let another replica take over now rather than once the lease lapses.
            if let Err(error) = schedule.lease.release(&schedule.holder).await {
                tracing::debug!(%error, "sweep lease not released; it lapses by itself");
            }
            tracing::debug!("sweep stopped");
        }
        () = sweeping => {}
    }
}

fn log(report: &SweepReport) {
    let removed = report.removed_per_reason();
    let kept = report.voices.len() - report.removed().len();
    if removed.is_empty() && kept == 0 {
        tracing::debug!(listed = report.listed, "sweep: nothing to do");
        return;
    }
    let removed: Vec<String> = removed
        .iter()
        .map(|(reason, n)| format!("{reason}={n}"))
        .collect();
    tracing::info!(
        listed = report.listed,
        removed = %removed.join(","),
        kept,
        "sweep done"
    );
}
