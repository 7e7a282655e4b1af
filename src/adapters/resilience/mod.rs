//! Decorators that protect the operator's ElevenLabs account whatever backend sits behind the
//! ports: a limit on clones in flight with a bounded, time-limited queue, and a circuit breaker
//! that fails fast while the platform is down. They wrap any [`VoiceCloner`] /
//! [`AgentConfigurator`] and depend on nothing but the ports.
//!
//! [`VoiceCloner`]: crate::ports::VoiceCloner
//! [`AgentConfigurator`]: crate::ports::AgentConfigurator

mod breaker;
mod limiter;

pub use breaker::{
    BreakerSettings, BreakerState, CircuitBreaker, GuardedAgentConfigurator, GuardedVoiceCloner,
};
pub use limiter::{CloneLimiter, LimiterSettings};

#[cfg(test)]
mod tests;
