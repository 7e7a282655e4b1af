//! When to try a failed call to the voice platform again: exponential backoff with jitter, or
//! the platform's own `Retry-After`. One rule, used by the HTTP adapter for calls it may repeat
//! by itself and by the use case for clones whose answer was lost.

use std::time::Duration;

/// Retries after the first attempt, and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before the first retry (doubled for each further one).
    pub base_delay: Duration,
    /// Longest wait between attempts when the server does not say.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// `max_retries` retries, 250 ms doubling to at most 4 s: fits inside a caller's wait.
    pub fn with_max_retries(max_retries: u32) -> Self {
        Self {
            max_retries,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
        }
    }

    /// The wait before retry number `retry` (1 for the first retry). A `Retry-After` from the
    /// server is honoured as is; otherwise the exponential delay gets "equal jitter" (between
    /// half and all of it) so that many webhooks failing together do not retry in lockstep.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let full = self.base_delay.saturating_mul(factor).min(self.max_delay);
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_with_jitter_up_to_the_cap() {
        let p = RetryPolicy::with_max_retries(5);
        for _ in 0..100 {
            let first = p.delay(1, None);
            assert!(first >= Duration::from_millis(125) && first <= Duration::from_millis(250));
            let third = p.delay(3, None);
            assert!(third >= Duration::from_millis(500) && third <= Duration::from_millis(1000));
            let late = p.delay(40, None);
            assert!(late >= Duration::from_secs(2) && late <= Duration::from_secs(4));
        }
    }

    #[test]
    fn honours_retry_after_exactly() {
        let p = RetryPolicy::with_max_retries(3);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
}
