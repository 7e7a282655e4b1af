//! How many refusals (`4xx` answers to a webhook) reach the log: at most
//! [`REFUSAL_LINES_PER_SECOND`] a second for the whole process, the rest counted and the count
//! written with the next line that gets through. A flood of forged requests must neither fill
//! the operator's disk nor spend the CPU that formatting and writing a line per request costs;
//! every refusal is still counted in `precall_http_requests_total` by its error code.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most refusal lines written in one second.
pub const REFUSAL_LINES_PER_SECOND: u32 = 10;

const WINDOW: Duration = Duration::from_secs(1);

/// The process-wide budget every webhook's refusals share.
pub static REFUSALS: RefusalLog = RefusalLog::new();

/// A budget of log lines per second, with the count of lines it held back.
pub struct RefusalLog {
    state: Mutex<State>,
}

struct State {
    window_start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

impl RefusalLog {
    /// A fresh budget.
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(State {
                window_start: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// Whether a refusal line may be written now: `None` when it is held back; `Some` when it
    /// may, with the number of lines held back since the last one written, if any (a field a
    /// line leaves out when it is `None`).
    pub fn admit(&self) -> Option<Option<u64>> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<Option<u64>> {
        // A poisoned lock only means a panic while holding it; the counts stay usable.
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= WINDOW)
        {
            state.window_start = Some(now);
            state.written = 0;
        }
        if state.written >= REFUSAL_LINES_PER_SECOND {
            state.suppressed += 1;
            return None;
        }
        state.written += 1;
        let held_back = std::mem::take(&mut state.suppressed);
        Some((held_back > 0).then_some(held_back))
    }
}

impl Default for RefusalLog {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_admits_its_budget_and_the_next_line_carries_what_was_held_back() {
        let log = RefusalLog::new();
        let start = Instant::now();
        for _ in 0..REFUSAL_LINES_PER_SECOND {
            assert_eq!(log.admit_at(start), Some(None));
        }
        for i in 1..=25 {
            assert_eq!(log.admit_at(start + Duration::from_millis(i * 30)), None);
        }
        let next_second = start + WINDOW;
        assert_eq!(log.admit_at(next_second), Some(Some(25)));
        assert_eq!(log.admit_at(next_second), Some(None));
    }

    #[test]
    fn a_quiet_service_logs_every_refusal() {
        let log = RefusalLog::new();
        let start = Instant::now();
        for i in 0..100 {
            assert_eq!(
                log.admit_at(start + Duration::from_millis(i * 200)),
                Some(None)
            );
        }
    }
}
