//! The error shared by the ports that talk to the voice platform, classified by cause so that
//! the edge can answer with the right status without knowing which backend failed.

use std::time::Duration;

/// Why a call to the voice platform failed. The message is the upstream's reason, fit to show
/// the webhook sender; it never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The platform refused what the request asked for: an unknown agent, audio it cannot
    /// use, a field it rejects. Retrying the same request will not help.
    #[error("{0}")]
    InvalidRequest(String),
    /// The platform refused us: quota or voice slots exhausted, permission missing, bad key.
    /// Retrying will not help until the operator acts.
    #[error("{0}")]
    Refused(String),
    /// The platform could not be reached, timed out, or kept failing (5xx, 429) after retries.
    /// A later retry may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// We hold the call back ourselves: too many clones are already in flight to protect the
    /// operator's account. Retry after the given time.
    #[error("Too many voice clones in flight; retry in {} s", .0.as_secs().max(1))]
    Busy(Duration),
}
