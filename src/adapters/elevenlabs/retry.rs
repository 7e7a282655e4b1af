//! Reading the server's `Retry-After`; the backoff itself is the domain's [`RetryPolicy`].

use std::time::Duration;

pub use crate::domain::RetryPolicy;

use reqwest::header::{HeaderMap, RETRY_AFTER};

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
