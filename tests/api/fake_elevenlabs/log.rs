//! The request log: every request the fake received, what the account did with it and what
//! the client was sent, so tests can assert the exchange as well as the end state.

use tokio::time::Instant;

use super::faults::Route;

/// What the client was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response with this status (possibly after a scripted delay: it is logged when decided,
    /// so a client that gave up first never saw it).
    Answered(u16),
    /// No response: the request was held until the client gave up or the fake stopped.
    NoAnswer,
    /// The connection was reset without a response.
    Reset,
    /// The connection was closed without a response.
    Closed,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/v1/voices/add`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// When the request had been read (before any scripted delay): to measure the pause a
    /// client made between two requests.
    pub received_at: Instant,
    /// The modelled operation, or `None` for a request the fake does not serve (answered 404).
    pub route: Option<Route>,
    /// The scripted fault applied to it, as `Debug` text.
    pub fault: Option<String>,
    /// The status of the account's real answer when it performed the operation (even when the
    /// client was sent something else); `None` when it did not act.
    pub acted: Option<u16>,
    /// What the client was sent.
    pub outcome: Outcome,
}

impl Exchange {
    /// Whether the request was answered with a 2xx status.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Answered(status) if (200..300).contains(&status))
    }
}
