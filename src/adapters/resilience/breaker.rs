//! A circuit breaker over the voice platform: after N consecutive failures, calls fail fast for
//! a cool-down instead of each waiting out its deadline; then one trial call decides.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use tokio::time::Instant;

use async_trait::async_trait;

use crate::domain::{AgentId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentUpdate, CloneRequest, ClonedVoice, UpstreamError, VoiceCloner,
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
    /// One trial call is out; others fail fast. A trial that never reports back (its request
    /// was cancelled) is replaced after a cool-down.
    HalfOpen {
        trial_since: Instant,
    },
}

/// Shared by every guarded port, so failures of clones and agent updates add up.
#[derive(Debug)]
pub struct CircuitBreaker {
    state: Mutex<State>,
    settings: BreakerSettings,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
            settings,
        }
    }

    /// Whether it is failing calls fast right now.
    pub fn is_open(&self) -> bool {
        matches!(*self.lock(), State::Open { until } if Instant::now() < until)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a call through, or refuses it while open.
    fn admit(&self) -> Result<(), UpstreamError> {
        let now = Instant::now();
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(self.open_error(until - now)),
            State::HalfOpen { trial_since } if now < trial_since + self.settings.cool_down => {
                Err(self.open_error(self.settings.cool_down))
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                tracing::info!("circuit breaker half-open: trying ElevenLabs again");
                *state = State::HalfOpen { trial_since: now };
                Ok(())
            }
        }
    }

    fn open_error(&self, remaining: Duration) -> UpstreamError {
        UpstreamError::Unavailable(format!(
            "ElevenLabs failed {} times in a row; not calling it for another {} s",
            self.settings.threshold,
            remaining.as_secs().max(1)
        ))
    }

    /// Records what a call's final result says about the platform's health: only
    /// `Unavailable` is a failure; an answer, even a refusal, proves it is up.
    fn record<T>(&self, result: &Result<T, UpstreamError>) {
        let mut state = self.lock();
        match result {
            Err(UpstreamError::Unavailable(_)) => {
                let failures = match *state {
                    State::Closed { failures } => failures + 1,
                    // A failed trial opens it again straight away.
                    State::HalfOpen { .. } | State::Open { .. } => self.settings.threshold,
                };
                if failures >= self.settings.threshold {
                    if !matches!(*state, State::Open { .. }) {
                        tracing::error!(
                            failures,
                            cool_down_seconds = self.settings.cool_down.as_secs(),
                            "circuit breaker open: ElevenLabs keeps failing; failing fast"
                        );
                    }
                    *state = State::Open {
                        until: Instant::now() + self.settings.cool_down,
                    };
                } else {
                    *state = State::Closed { failures };
                }
            }
            Err(UpstreamError::Busy(_)) => {}
            Ok(_) | Err(UpstreamError::InvalidRequest(_) | UpstreamError::Refused(_)) => {
                if !matches!(*state, State::Closed { failures: 0 }) {
                    if !matches!(*state, State::Closed { .. }) {
                        tracing::info!("circuit breaker closed: ElevenLabs answers again");
                    }
                    *state = State::Closed { failures: 0 };
                }
            }
        }
    }
}

/// A [`VoiceCloner`] behind the breaker. Deletes are always attempted (a rollback must not be
/// skipped because the breaker is open) but still count.
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
        self.breaker.admit()?;
        let result = self.inner.clone_voice(request).await;
        self.breaker.record(&result);
        result
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: StdInstant,
    ) -> Result<(), UpstreamError> {
        let result = self.inner.delete_voice(voice_id, deadline).await;
        self.breaker.record(&result);
        result
    }
}

/// An [`AgentConfigurator`] behind the breaker.
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
        self.breaker.admit()?;
        let result = self.inner.update_agent(agent_id, update, deadline).await;
        self.breaker.record(&result);
        result
    }
}
