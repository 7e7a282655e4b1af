//! Scripted faults: what a test makes the fake do instead of answering plainly.
//!
//! A [`Fault`] says whether the account performs the operation (creates the voice, patches the
//! agent, deletes the voice) and what the client then gets: the real answer, another status and
//! body, no answer at all, or a connection torn down. One acts only in part: an agent PATCH
//! that answers 200 but silently keeps nothing of one part of its body. Faults are scripted per [`Route`], consumed
//! one per matching request in FIFO order; a standing fault applies to every request after the
//! queued ones are used up. A fault [held](Fault::held) at a [`Gate`] waits, before it does
//! anything, until the test opens the gate: the test, not a timer, decides when the account acts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

/// An operation of the ElevenLabs API that the fake models, for scripting faults and counting
/// requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /v1/voices/add`: Instant Voice Cloning.
    AddVoice,
    /// `DELETE /v1/voices/{voice_id}`.
    DeleteVoice,
    /// `GET /v2/voices`.
    ListVoices,
    /// `GET /v1/convai/agents/{agent_id}`.
    GetAgent,
    /// `PATCH /v1/convai/agents/{agent_id}`.
    PatchAgent,
    /// `GET /v1/user/subscription`.
    Subscription,
}

/// What the client gets once the fault has (or has not) let the account act.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The account's real answer (only with a fault that acts).
    Real,
    /// This status, headers and body.
    Respond {
        /// HTTP status code.
        status: u16,
        /// Extra response headers, e.g. `retry-after`.
        headers: Vec<(String, String)>,
        /// `content-type` of `body`.
        content_type: String,
        /// The body, sent as it is.
        body: Bytes,
    },
    /// No answer ever: the request is held until the client gives up or the fake stops.
    Hang,
    /// The connection is reset (TCP RST, `SO_LINGER` 0) without a response.
    Reset,
    /// The connection is closed (TCP FIN) without a response.
    Close,
}

impl Answer {
    /// `status` with ElevenLabs' business-error body naming it, e.g. for 503
    /// `{"detail":{"status":"service_unavailable","message":"Service Unavailable"}}`
    /// (429 says `too_many_concurrent_requests`, as ElevenLabs does).
    pub fn status(status: u16) -> Self {
        let reason = hyper::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let code = if status == 429 {
            "too_many_concurrent_requests".to_owned()
        } else {
            reason.to_ascii_lowercase().replace([' ', '-'], "_")
        };
        Self::json(
            status,
            json!({"detail": {"status": code, "message": reason}}),
        )
    }

    /// `status` with this JSON body (say `200 {"voice_id": 12345}`, valid JSON of the wrong
    /// shape).
    pub fn json(status: u16, body: Value) -> Self {
        Self::text(status, "application/json", &body.to_string())
    }

    /// `status` with this body and content type, sent as it is.
    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            content_type: content_type.to_owned(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// `200` with an HTML body that is not JSON, like a proxy's error page.
    pub fn garbage() -> Self {
        Self::text(
            200,
            "text/html",
            "<html><body>502 Bad Gateway (but sent as 200)</body></html>",
        )
    }

    /// Adds a response header (only to [`Answer::Respond`]; ignored otherwise).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }
}

/// Whether the account performs the operation before the fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    /// It does not: nothing changes on the account.
    No,
    /// It does, after this delay (zero: at once).
    After(Duration),
}

/// One scripted misbehaviour of the fake for one request.
#[derive(Debug, Clone)]
pub struct Fault {
    pub(super) act: Act,
    pub(super) answer: Answer,
    /// How long the answer (or the reset, or the close) waits after acting.
    pub(super) answer_delay: Duration,
    /// Where the request waits, before anything else, until the test opens it.
    pub(super) gate: Option<Gate>,
    /// A JSON pointer into an agent PATCH body whose value the account does not keep.
    pub(super) dropped: Option<String>,
}

impl Fault {
    /// Answers `answer` without performing the operation: nothing changes on the account.
    ///
    /// # Panics
    /// With [`Answer::Real`]: a real answer needs the operation (use [`Fault::act_then`]).
    pub fn without_acting(answer: Answer) -> Self {
        assert!(
            !matches!(answer, Answer::Real),
            "Answer::Real needs the operation: use Fault::act_then"
        );
        Self {
            act: Act::No,
            answer,
            answer_delay: Duration::ZERO,
            gate: None,
            dropped: None,
        }
    }

    /// Performs the operation for real (voice created, agent patched, voice deleted), then
    /// answers `answer` instead of the real answer: the answer that "got lost".
    pub fn act_then(answer: Answer) -> Self {
        Self {
            act: Act::After(Duration::ZERO),
            answer,
            answer_delay: Duration::ZERO,
            gate: None,
            dropped: None,
        }
    }

    /// A slow success: waits `delay`, then performs the operation and answers for real. The
    /// operation happens even if the client has given up by then.
    pub fn act_after(delay: Duration) -> Self {
        Self {
            act: Act::After(delay),
            answer: Answer::Real,
            answer_delay: Duration::ZERO,
            gate: None,
            dropped: None,
        }
    }

    /// Patches the agent and answers for real, but silently keeps nothing of the part of the
    /// PATCH body at `pointer` (a JSON pointer, e.g. `/platform_settings/overrides`): the 200
    /// says the agent was updated, a read-back shows it was not. ElevenLabs has been seen to
    /// drop settings like this. The body is still recorded as received. Only
    /// [`Route::PatchAgent`] has a body to drop from; on other routes it is a plain success.
    pub fn drop_silently(pointer: &str) -> Self {
        Self {
            dropped: Some(pointer.to_owned()),
            ..Self::act_after(Duration::ZERO)
        }
    }

    /// `429 too_many_concurrent_requests` without acting, with ElevenLabs' concurrency headers.
    pub fn too_many_concurrent_requests() -> Self {
        Self::without_acting(
            Answer::status(429)
                .header("current-concurrent-requests", "5")
                .header("maximum-concurrent-requests", "5"),
        )
    }

    /// `503` with `Retry-After: retry_after_seconds`, without acting.
    pub fn service_unavailable(retry_after_seconds: u64) -> Self {
        Self::without_acting(
            Answer::status(503).header("retry-after", &retry_after_seconds.to_string()),
        )
    }

    /// Delays the answer (or the reset, or the close) by `delay`, counted after acting: with
    /// [`Answer::Real`], an answer that comes later than the client's timeout.
    pub fn after(mut self, delay: Duration) -> Self {
        self.answer_delay = delay;
        self
    }

    /// Holds the request at `gate`, before it acts or answers, until the test opens the gate:
    /// a clone that is in flight for exactly as long as the test needs. The request still
    /// acts when its client has given up by then.
    pub fn held(mut self, gate: &Gate) -> Self {
        self.gate = Some(gate.clone());
        self
    }
}

/// A gate that [held](Fault::held) requests wait at: the test learns when one has arrived, and
/// opens it when the account should act. Clones share the gate; once open it stays open.
#[derive(Debug, Clone)]
pub struct Gate {
    arrived: Arc<watch::Sender<bool>>,
    open: Arc<watch::Sender<bool>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A closed gate nothing has reached yet.
    pub fn new() -> Self {
        Self {
            arrived: Arc::new(watch::Sender::new(false)),
            open: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Completes once a request has reached the gate (at once if one has).
    pub async fn arrived(&self) {
        // The sender lives in `self`, so the wait only ends with a request.
        let _ = self.arrived.subscribe().wait_for(|arrived| *arrived).await;
    }

    /// Lets the requests held here (and any that arrive later) through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// Called by the fake: records the arrival and waits until the gate is open.
    pub(super) async fn pass(&self) {
        self.arrived.send_replace(true);
        let _ = self.open.subscribe().wait_for(|open| *open).await;
    }
}

/// The faults scripted for each route: queued ones first (FIFO), then a standing one.
#[derive(Debug, Default)]
pub(super) struct FaultScript {
    queued: HashMap<Route, VecDeque<Fault>>,
    standing: HashMap<Route, Fault>,
}

impl FaultScript {
    pub(super) fn push(&mut self, route: Route, fault: Fault) {
        self.queued.entry(route).or_default().push_back(fault);
    }

    pub(super) fn set_standing(&mut self, route: Route, fault: Fault) {
        self.standing.insert(route, fault);
    }

    pub(super) fn clear(&mut self, route: Route) {
        self.queued.remove(&route);
        self.standing.remove(&route);
    }

    pub(super) fn queued(&self, route: Route) -> usize {
        self.queued.get(&route).map_or(0, VecDeque::len)
    }

    /// The fault for the next request on `route`, if any (a queued one is used up).
    pub(super) fn take(&mut self, route: Route) -> Option<Fault> {
        self.queued
            .get_mut(&route)
            .and_then(VecDeque::pop_front)
            .or_else(|| self.standing.get(&route).cloned())
    }
}
