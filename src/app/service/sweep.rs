//! The periodic sweep: one soon after start-up, then one every `VOICE_SWEEP_INTERVAL_SECONDS`,
//! until the shutdown signal cancels it (a sweep cut off half-way leaves at most an orphan,
//! which the next sweep deletes).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{Sweep, SweepReport};

/// The longest wait for the first sweep after start-up.
pub const FIRST_SWEEP_AFTER: Duration = Duration::from_secs(10);

/// Sweeps every `interval` (the first after `interval` or [`FIRST_SWEEP_AFTER`], whichever is
/// shorter) until `stop` is cancelled. `interval` must not be zero.
pub async fn sweep_periodically(sweep: Arc<Sweep>, interval: Duration, stop: CancellationToken) {
    let sweeping = async {
        tokio::time::sleep(interval.min(FIRST_SWEEP_AFTER)).await;
        loop {
            match sweep.run(false).await {
                Ok(report) => log(&report),
                Err(error) => tracing::warn!(%error, "sweep skipped; trying again next interval"),
            }
            tokio::time::sleep(interval).await;
        }
    };
    tokio::select! {
        () = stop.cancelled() => tracing::debug!("sweep stopped"),
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
