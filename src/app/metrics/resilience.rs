//! The circuit breaker's state and the clone queue, read from the resilience decorators at
//! each scrape (a lock and two atomics: nothing that waits).

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::adapters::resilience::{BreakerState, CircuitBreaker, CloneLimiter};

/// Registers `circuit_breaker_state`, `clones_in_flight` and `clones_waiting`.
pub(super) fn register(
    registry: &mut Registry,
    breaker: Arc<CircuitBreaker>,
    permits: Arc<CloneLimiter>,
) {
    registry.register_collector(Box::new(ResilienceCollector { breaker, permits }));
}

struct ResilienceCollector {
    breaker: Arc<CircuitBreaker>,
    permits: Arc<CloneLimiter>,
}

impl std::fmt::Debug for ResilienceCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilienceCollector")
            .finish_non_exhaustive()
    }
}

/// The gauge's value for a state.
fn breaker_value(state: BreakerState) -> i64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::Open => 1,
        BreakerState::HalfOpen => 2,
    }
}

impl Collector for ResilienceCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauges = [
            (
                "circuit_breaker_state",
                "State of the circuit breaker in front of ElevenLabs: 0 closed, 1 open (failing \
                 fast), 2 half-open (cool-down over: a trial call decides).",
                breaker_value(self.breaker.state()),
            ),
            (
                "clones_in_flight",
                "Clones holding a place among MAX_CONCURRENT_CLONES right now.",
                count(self.permits.in_flight()),
            ),
            (
                "clones_waiting",
                "Clones waiting in the queue for a place right now (at most CLONE_QUEUE_CAPACITY).",
                count(self.permits.waiting()),
            ),
        ];
        // Unlike `Registry::register`, a collector's help is written as given: full stops here.
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
