//! When to try again: exponential backoff with jitter, or the server's `Retry-After`.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

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
    /// Three retries, 250 ms doubling to at most 4 s: fits inside a caller's wait.
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

/// Reads `Retry-After` as delta-seconds (ElevenLabs does not document it; HTTP dates are rare
/// for APIs and are ignored, falling back to backoff).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let seconds: f64 = value.parse().ok()?;
    (seconds.is_finite() && (0.0..=3600.0).contains(&seconds))
        .then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

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

    #[test]
    fn reads_retry_after_seconds_and_ignores_nonsense() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        for bad in [
            "-1",
            "soon",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "99999",
            "NaN",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(bad));
            assert_eq!(retry_after(&h), None, "{bad}");
        }
    }
}
