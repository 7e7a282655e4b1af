//! A circuit breaker over the voice platform: after N consecutive failures, calls fail fast for
//! a cool-down instead of each waiting out its deadline; then one trial call decides.
//!
//! Only real platform failures count (unreachable, failing, uncertain answers): refusals prove
//! the platform is up, and our own limits or a deadline spent before sending say nothing about
//! it. While half-open only the trial decides; a trial that ends without a verdict (cancelled,
//! or never sent) lets the next call be the trial at once instead of leaving the breaker stuck.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::domain::{AgentId, ConversationId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, CloneRequest, ClonedVoice, FoundVoice,
    ListedVoice, OverridePermissions, UpstreamError, VoiceCloner,
};

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open it (`CIRCUIT_BREAKER_THRESHOLD`). A call that used up
    /// its retries counts once.
    pub threshold: u32,
    /// How long it stays open before a trial call (`CIRCUIT_BREAKER_COOLDOWN_SECONDS`).
    pub cool_down: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// The trial call `trial` is out; other calls fail fast until it reports.
    HalfOpen {
        trial: u64,
    },
}

#[derive(Debug)]
struct Inner {
    state: State,
    /// Bumped on every change of state, so that a call admitted before the change (a slow
    /// success arriving while half-open, say) cannot decide after it.
    generation: u64,
    next_call: u64,
}

/// What the breaker is doing, as an operator sees it (see [`CircuitBreaker::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; failures are being counted.
    Closed,
    /// Calls that change something fail fast until the cool-down is over.
    Open,
    /// The cool-down is over: the next call is the trial, or the trial is out and the others
    /// fail fast until it reports.
    HalfOpen,
}

/// What a call's result says about the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Up,
    Down,
    /// Nothing: our own limits, or no attempt was sent.
    None,
}

fn verdict<T>(result: &Result<T, UpstreamError>) -> Verdict {
    match result {
        Ok(_)
        | Err(
            UpstreamError::InvalidRequest(_)
            | UpstreamError::Refused(_)
            | UpstreamError::VoiceLimitReached(_),
        ) => Verdict::Up,
        Err(error) if error.is_platform_failure() => Verdict::Down,
        Err(_) => Verdict::None,
    }
}

/// A call let through, to be reported back.
#[derive(Debug, Clone, Copy)]
struct Pass {
    id: u64,
    generation: u64,
    trial: bool,
    /// Whether a success of this call resets the failure count (see [`CircuitBreaker::observe`]).
    decides: bool,
}

/// Shared by every guarded port, so failures of clones and agent updates add up.
#[derive(Debug)]
pub struct CircuitBreaker {
    inner: Mutex<Inner>,
    settings: BreakerSettings,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::Closed { failures: 0 },
                generation: 0,
                next_call: 0,
            }),
            settings,
        }
    }

    /// Whether it is failing calls fast right now.
    pub fn is_open(&self) -> bool {
        match self.lock().state {
            State::Open { until } => Instant::now() < until,
            State::HalfOpen { .. } => true,
            State::Closed { .. } => false,
        }
    }

    /// What it is doing right now. A read for operators (metrics): it changes nothing, not even
    /// an open breaker whose cool-down is over (the next call does that).
    pub fn state(&self) -> BreakerState {
        match self.lock().state {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a call through (as the trial, once the cool-down is over), or refuses it.
    fn admit(&self) -> Result<Pass, UpstreamError> {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.next_call += 1;
        let id = inner.next_call;
        match inner.state {
            State::Closed { .. } => Ok(Pass {
                id,
                generation: inner.generation,
                trial: false,
                decides: true,
            }),
            State::Open { until } if now < until => Err(self.open_error(until - now)),
            State::HalfOpen { .. } => Err(self.open_error(self.settings.cool_down)),
            State::Open { .. } => {
                tracing::info!("circuit breaker half-open: trying ElevenLabs again");
                inner.generation += 1;
                inner.state = State::HalfOpen { trial: id };
                Ok(Pass {
                    id,
                    generation: inner.generation,
                    trial: true,
                    decides: true,
                })
            }
        }
    }

    /// A pass for a call that is always attempted (deletes, look-ups, reading an agent back):
    /// it never decides a half-open breaker, and while closed its failures count but its
    /// successes do not reset the count — a read that works must not hide that the clones and
    /// updates it follows keep failing.
    fn observe(&self) -> Pass {
        let mut inner = self.lock();
        inner.next_call += 1;
        Pass {
            id: inner.next_call,
            generation: inner.generation,
            trial: false,
            decides: false,
        }
    }

    fn open_error(&self, remaining: Duration) -> UpstreamError {
        UpstreamError::Unavailable(format!(
            "ElevenLabs failed {} times in a row; not calling it for another {} s",
            self.settings.threshold,
            remaining.as_secs().max(1)
        ))
    }

    fn record(&self, pass: Pass, verdict: Verdict) {
        let now = Instant::now();
        let mut inner = self.lock();
        if pass.trial {
            if inner.state != (State::HalfOpen { trial: pass.id }) {
                return;
            }
            inner.generation += 1;
            inner.state = match verdict {
                Verdict::Up => {
                    tracing::info!("circuit breaker closed: ElevenLabs answers again");
                    State::Closed { failures: 0 }
                }
                Verdict::Down => {
                    tracing::error!("circuit breaker trial failed; open again");
                    State::Open {
                        until: now + self.settings.cool_down,
                    }
                }
                // The trial said nothing: the next call tries again at once.
                Verdict::None => State::Open { until: now },
            };
            return;
        }
        if pass.generation != inner.generation {
            return;
        }
        let State::Closed { failures } = inner.state else {
            return;
        };
        match verdict {
            Verdict::Up if pass.decides => inner.state = State::Closed { failures: 0 },
            Verdict::Up => {}
            Verdict::None => {}
            Verdict::Down if failures + 1 >= self.settings.threshold => {
                tracing::error!(
                    failures = failures + 1,
                    cool_down_seconds = self.settings.cool_down.as_secs(),
                    "circuit breaker open: ElevenLabs keeps failing; failing fast"
                );
                inner.generation += 1;
                inner.state = State::Open {
                    until: now + self.settings.cool_down,
                };
            }
            Verdict::Down => {
                inner.state = State::Closed {
                    failures: failures + 1,
                }
            }
        }
    }

    /// Runs `call` under `pass`; a trial dropped before it reports (its request was cancelled)
    /// still reports "no verdict", so the breaker is never left waiting for it.
    async fn guard<T>(
        &self,
        pass: Pass,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let mut report = Report {
            breaker: self,
            pass,
            verdict: Verdict::None,
        };
        let result = call.await;
        report.verdict = verdict(&result);
        result
    }
}

/// Reports a call's verdict when dropped, whether the call finished or was cancelled.
struct Report<'a> {
    breaker: &'a CircuitBreaker,
    pass: Pass,
    verdict: Verdict,
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        self.breaker.record(self.pass, self.verdict);
    }
}

/// A [`VoiceCloner`] behind the breaker. Look-ups, listings and deletes are always attempted (a
/// rollback, a clean-up or a sweep must not be skipped because the breaker is open) but still
/// count.
pub struct GuardedVoiceCloner {
    inner: Arc<dyn VoiceCloner>,
    breaker: Arc<CircuitBreaker>,
}

impl GuardedVoiceCloner {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn VoiceCloner>, breaker: Arc<CircuitBreaker>) -> Self {
        Self { inner, breaker }
    }
}

#[async_trait]
impl VoiceCloner for GuardedVoiceCloner {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        let pass = self.breaker.admit()?;
        self.breaker
            .guard(pass, self.inner.clone_voice(request))
            .await
    }

    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: StdInstant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        let pass = self.breaker.observe();
        self.breaker
            .guard(pass, self.inner.find_voices(conversation_id, deadline))
            .await
    }

    async fn list_voices(&self, deadline: StdInstant) -> Result<Vec<ListedVoice>, UpstreamError> {
        let pass = self.breaker.observe();
        self.breaker
            .guard(pass, self.inner.list_voices(deadline))
            .await
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: StdInstant,
    ) -> Result<(), UpstreamError> {
        let pass = self.breaker.observe();
        self.breaker
            .guard(pass, self.inner.delete_voice(voice_id, deadline))
            .await
    }
}

/// An [`AgentConfigurator`] behind the breaker; changes are refused while it is open, reading an
/// agent back is always attempted.
pub struct GuardedAgentConfigurator {
    inner: Arc<dyn AgentConfigurator>,
    breaker: Arc<CircuitBreaker>,
}

impl GuardedAgentConfigurator {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn AgentConfigurator>, breaker: Arc<CircuitBreaker>) -> Self {
        Self { inner, breaker }
    }
}

#[async_trait]
impl AgentConfigurator for GuardedAgentConfigurator {
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: StdInstant,
    ) -> Result<(), UpstreamError> {
        let pass = self.breaker.admit()?;
        self.breaker
            .guard(pass, self.inner.update_agent(agent_id, update, deadline))
            .await
    }

    async fn read_agent(
        &self,
        agent_id: &AgentId,
        deadline: StdInstant,
    ) -> Result<AgentSettings, UpstreamError> {
        let pass = self.breaker.observe();
        self.breaker
            .guard(pass, self.inner.read_agent(agent_id, deadline))
            .await
    }

    async fn enable_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: StdInstant,
    ) -> Result<(), UpstreamError> {
        let pass = self.breaker.admit()?;
        self.breaker
            .guard(
                pass,
                self.inner.enable_override_permissions(agent_id, deadline),
            )
            .await
    }

    async fn read_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: StdInstant,
    ) -> Result<OverridePermissions, UpstreamError> {
        let pass = self.breaker.observe();
        self.breaker
            .guard(
                pass,
                self.inner.read_override_permissions(agent_id, deadline),
            )
            .await
    }
}
