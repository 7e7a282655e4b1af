//! The before/after tables of the floor bench (`PRECALL_WEBHOOK_BEFORE_BIN`): both builds against
//! the baseline when it ran, and this build against the older one from the same rounds, as the
//! geometric mean of the per-round ratios with its 95 % interval (the paired figure the bench
//! also gives for the service against the baseline). On a machine whose speed drifts
//! by a third within the hour, a change of a few per cent shows only this way: a median of seven
//! rounds resolves about 10 %, twenty pairs about 4 %.

use super::support::drive::Measured;
use super::{Scenario, before_binary, cpu_us, ratio_of_medians, rps};

/// Per scenario: the runs of the before build, of this build and of the baseline (empty when
/// the baseline was not run), round by round.
pub type BeforeAfter = Vec<(Scenario, Vec<Measured>, Vec<Measured>, Vec<Measured>)>;

/// The geometric mean of the ratios `a[i] / b[i]`, its 95 % interval (Student's t on the
/// logarithms) and how many ratios are below 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedRatio {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub below_one: usize,
    pub pairs: usize,
}

/// Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// [`PairedRatio`] of `a` over `b`, pair by pair; `None` with fewer than two pairs.
pub fn paired_ratio(a: &[f64], b: &[f64]) -> Option<PairedRatio> {
    let logs: Vec<f64> = a.iter().zip(b).map(|(x, y)| (x / y).ln()).collect();
    let n = logs.len();
    if n < 2 || logs.iter().any(|l| !l.is_finite()) {
        return None;
    }
    let mean = logs.iter().sum::<f64>() / n as f64;
    let variance = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let t = T_975.get(n - 2).copied().unwrap_or(1.96);
    let half = t * (variance / n as f64).sqrt();
    Some(PairedRatio {
        mean: mean.exp(),
        low: (mean - half).exp(),
        high: (mean + half).exp(),
        below_one: logs.iter().filter(|l| **l < 0.0).count(),
        pairs: n,
    })
}

/// Prints the tables, when there is a before build.
pub fn print(rows: &BeforeAfter) {
    if rows.is_empty() {
        return;
    }
    let before = before_binary().map_or_else(String::new, |b| b.to_string_lossy().into_owned());
    println!("\nbefore: {before} (the same rounds)");
    let with_baseline: Vec<_> = rows.iter().filter(|row| !row.3.is_empty()).collect();
    if !with_baseline.is_empty() {
        table(
            &[
                "scenario",
                "req/s ratio, before / baseline",
                "req/s ratio, service / baseline",
                "CPU/req ratio, before / baseline",
                "CPU/req ratio, service / baseline",
            ],
            with_baseline
                .into_iter()
                .map(|(scenario, before, service, baseline)| {
                    vec![
                        scenario.name().to_owned(),
                        median_ratio(before, baseline, rps),
                        median_ratio(service, baseline, rps),
                        median_ratio(before, baseline, cpu_us),
                        median_ratio(service, baseline, cpu_us),
                    ]
                }),
        );
    }
    table(
        &[
            "scenario",
            "CPU/req, service / before: geometric mean [95 %], pairs lower",
            "req/s, service / before: geometric mean [95 %], pairs lower",
        ],
        rows.iter().map(|(scenario, before, service, _)| {
            vec![
                scenario.name().to_owned(),
                paired_cell(service, before, cpu_us),
                paired_cell(service, before, rps),
            ]
        }),
    );
}

/// A Markdown table, after an empty line (two tables in a row stay two).
pub fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    println!("\n| {} |", header.join(" | "));
    println!("|{}", "---|".repeat(header.len()));
    for row in rows {
        println!("| {} |", row.join(" | "));
    }
}

/// The median of the per-round ratios, with the lowest and the highest.
fn median_ratio(a: &[Measured], b: &[Measured], f: fn(&Measured) -> f64) -> String {
    let pairs: Vec<(Measured, Measured)> = a.iter().copied().zip(b.iter().copied()).collect();
    let (median, lowest, highest) = ratio_of_medians(&pairs, f);
    format!("**{median:.2}×** ({lowest:.2}–{highest:.2})")
}

/// [`paired_ratio`] of `a` over `b` in `f`, as a table cell.
pub fn paired_cell(a: &[Measured], b: &[Measured], f: fn(&Measured) -> f64) -> String {
    let values = |runs: &[Measured]| runs.iter().map(f).collect::<Vec<f64>>();
    match paired_ratio(&values(a), &values(b)) {
        Some(r) => format!(
            "**{:.3}×** [{:.3}–{:.3}], {} of {}",
            r.mean, r.low, r.high, r.below_one, r.pairs
        ),
        None => "– (one round)".to_owned(),
    }
}
