//! The error shared by the ports that talk to the voice platform, classified by cause so that
//! the edge can answer with the right status, the circuit breaker can tell a platform failure
//! from our own limits, and the use case can tell "certainly not done" from "maybe done".

use std::time::Duration;

/// Why a call to the voice platform failed. The message is the upstream's reason, fit to show
/// the webhook sender; it never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The platform refused what the request asked for: an unknown agent, audio it cannot
    /// use, a field it rejects. Retrying the same request will not help.
    #[error("{0}")]
    InvalidRequest(String),
    /// The platform refused us: quota or the monthly voice add/edit budget exhausted (deleting
    /// a voice does not refund it), permission missing, bad key. Retrying will not help until
    /// the operator acts, and deleting voices frees nothing.
    #[error("{0}")]
    Refused(String),
    /// The account's custom-voice slots are full (`voice_limit_reached`). Unlike the other
    /// refusals, deleting one of our own voices frees a slot, so a caller may evict one and try
    /// once more. Otherwise it is a refusal like [`UpstreamError::Refused`]: the platform is up.
    #[error("{0}")]
    VoiceLimitReached(String),
    /// The platform could not be reached, or kept failing (5xx, 429) after retries, on a call
    /// that it certainly did not act on or that is harmless to repeat. A later retry may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// A call that creates or changes something failed in a way that may have been acted on:
    /// a timeout or a reset after the request was sent, a 5xx, an unreadable or invalid 2xx
    /// body. The caller must look before doing it again.
    #[error("{reason}")]
    Uncertain {
        /// What went wrong.
        reason: String,
        /// How long the platform asked us to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
    },
    /// Not sent at all: less time was left before the deadline than one attempt needs. Says
    /// nothing about the platform's health.
    #[error("{0}")]
    OutOfTime(String),
    /// We hold the call back ourselves: too many clones are already in flight to protect the
    /// operator's account. Retry after the given time.
    #[error("Too many voice clones in flight; retry in {} s", .0.as_secs().max(1))]
    Busy(Duration),
}

impl UpstreamError {
    /// Whether this failure says the platform is unwell (the circuit breaker counts these):
    /// unreachable, failing, or leaving us uncertain. Refusals prove it is up; our own limits
    /// and a deadline spent before sending say nothing about it.
    pub fn is_platform_failure(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Uncertain { .. })
    }

    /// Whether the platform may have acted on the request that failed this way.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, Self::Uncertain { .. })
    }
}
