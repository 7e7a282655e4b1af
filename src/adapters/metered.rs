//! Metering of the calls made to the voice platform: a decorator over any [`VoiceCloner`] /
//! [`AgentConfigurator`] that counts each call by operation and outcome and times it (the
//! adapter's own retries included). Wired right around the backend, under the circuit breaker,
//! so that what it counts is what was sent to ElevenLabs — a call the open breaker refuses
//! never reaches it, and shows in the breaker's gauge instead.
//!
//! Labels come from fixed sets only (the operation, the kind of [`UpstreamError`]): never a
//! voice, agent or conversation id, nor the platform's message.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::domain::{AgentId, ConversationId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, CloneRequest, ClonedVoice, FoundVoice,
    ListedVoice, OverridePermissions, UpstreamError, VoiceCloner,
};

/// Latency buckets, seconds: from a 1 ms answer from memory to a 60 s clone with its retries.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// A histogram with [`LATENCY_BUCKETS`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// One call to the platform, as the `operation` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `VoiceCloner::clone_voice`.
    Clone,
    /// `VoiceCloner::find_voices`.
    Find,
    /// `VoiceCloner::list_voices`.
    List,
    /// `VoiceCloner::delete_voice`.
    Delete,
    /// `AgentConfigurator::update_agent`.
    UpdateAgent,
    /// `AgentConfigurator::read_agent`.
    ReadAgent,
    /// `AgentConfigurator::enable_override_permissions`.
    EnableOverrides,
    /// `AgentConfigurator::read_override_permissions`.
    ReadOverrides,
}

impl Operation {
    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clone => "clone",
            Self::Find => "find",
            Self::List => "list",
            Self::Delete => "delete",
            Self::UpdateAgent => "update_agent",
            Self::ReadAgent => "read_agent",
            Self::EnableOverrides => "enable_overrides",
            Self::ReadOverrides => "read_overrides",
        }
    }
}

/// The `outcome` label of a call's result: `ok`, or the kind of [`UpstreamError`].
pub fn outcome<T>(result: &Result<T, UpstreamError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(UpstreamError::InvalidRequest(_)) => "invalid_request",
        Err(UpstreamError::Refused(_)) => "refused",
        Err(UpstreamError::VoiceLimitReached(_)) => "voice_limit_reached",
        Err(UpstreamError::Unavailable(_)) => "unavailable",
        Err(UpstreamError::Uncertain { .. }) => "uncertain",
        Err(UpstreamError::OutOfTime(_)) => "out_of_time",
        Err(UpstreamError::Busy(_)) => "busy",
    }
}

/// The `outcome` of a call whose caller stopped waiting before it ended.
const CANCELLED: &str = "cancelled";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

/// The upstream series. Cheap to clone: clones share the series.
#[derive(Debug, Clone)]
pub struct UpstreamMetrics {
    calls: Family<CallLabels, Counter>,
    duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

impl UpstreamMetrics {
    /// Creates the series and registers them in `registry` (whose prefix they take):
    /// `upstream_calls_total{operation,outcome}` and
    /// `upstream_call_duration_seconds{operation}`.
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            calls: Family::default(),
            duration: Family::new_with_constructor(latency_histogram),
        };
        registry.register(
            "upstream_calls",
            "Calls sent to ElevenLabs, by operation and outcome (ok, or the kind of failure \
             after the adapter's retries)",
            metrics.calls.clone(),
        );
        registry.register_with_unit(
            "upstream_call_duration",
            "Time a call to ElevenLabs took, its retries included, by operation",
            Unit::Seconds,
            metrics.duration.clone(),
        );
        metrics
    }

    /// Counts one call of `operation` that ended with `outcome`, taking `seconds`.
    pub fn record(&self, operation: Operation, outcome: &'static str, seconds: f64) {
        let operation = operation.as_str();
        self.calls
            .get_or_create(&CallLabels { operation, outcome })
            .inc();
        self.duration
            .get_or_create(&OperationLabels { operation })
            .observe(seconds);
    }

    /// Runs `call`, then counts and times it; a call dropped before it ends (its caller was
    /// cancelled) is counted as `cancelled`.
    async fn meter<T>(
        &self,
        operation: Operation,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let mut recording = Recording {
            metrics: self,
            operation,
            started: Instant::now(),
            outcome: CANCELLED,
        };
        let result = call.await;
        recording.outcome = outcome(&result);
        result
    }
}

/// Records a call when dropped, whether it finished or was cancelled.
struct Recording<'a> {
    metrics: &'a UpstreamMetrics,
    operation: Operation,
    started: Instant,
    outcome: &'static str,
}

impl Drop for Recording<'_> {
    fn drop(&mut self) {
        self.metrics.record(
            self.operation,
            self.outcome,
            self.started.elapsed().as_secs_f64(),
        );
    }
}

/// A [`VoiceCloner`] whose calls are counted and timed.
pub struct MeteredVoiceCloner {
    inner: Arc<dyn VoiceCloner>,
    metrics: UpstreamMetrics,
}

impl MeteredVoiceCloner {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn VoiceCloner>, metrics: UpstreamMetrics) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl VoiceCloner for MeteredVoiceCloner {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        self.metrics
            .meter(Operation::Clone, self.inner.clone_voice(request))
            .await
    }

    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        self.metrics
            .meter(
                Operation::Find,
                self.inner.find_voices(conversation_id, deadline),
            )
            .await
    }

    async fn list_voices(&self, deadline: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        self.metrics
            .meter(Operation::List, self.inner.list_voices(deadline))
            .await
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.metrics
            .meter(
                Operation::Delete,
                self.inner.delete_voice(voice_id, deadline),
            )
            .await
    }
}

/// An [`AgentConfigurator`] whose calls are counted and timed.
pub struct MeteredAgentConfigurator {
    inner: Arc<dyn AgentConfigurator>,
    metrics: UpstreamMetrics,
}

impl MeteredAgentConfigurator {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn AgentConfigurator>, metrics: UpstreamMetrics) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl AgentConfigurator for MeteredAgentConfigurator {
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.metrics
            .meter(
                Operation::UpdateAgent,
                self.inner.update_agent(agent_id, update, deadline),
            )
            .await
    }

    async fn read_agent(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<AgentSettings, UpstreamError> {
        self.metrics
            .meter(
                Operation::ReadAgent,
                self.inner.read_agent(agent_id, deadline),
            )
            .await
    }

    async fn enable_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.metrics
            .meter(
                Operation::EnableOverrides,
                self.inner.enable_override_permissions(agent_id, deadline),
            )
            .await
    }

    async fn read_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<OverridePermissions, UpstreamError> {
        self.metrics
            .meter(
                Operation::ReadOverrides,
                self.inner.read_override_permissions(agent_id, deadline),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use prometheus_client::encoding::prometheus_text::encode;

    use super::*;

    /// Answers every agent update with the scripted result.
    #[derive(Default)]
    struct Scripted(Mutex<Option<UpstreamError>>);

    #[async_trait]
    impl AgentConfigurator for Scripted {
        async fn update_agent(
            &self,
            _: &AgentId,
            _: &AgentUpdate,
            _: Instant,
        ) -> Result<(), UpstreamError> {
            match self.0.lock().unwrap().clone() {
                Some(error) => Err(error),
                None => Ok(()),
            }
        }

        async fn read_agent(
            &self,
            _: &AgentId,
            _: Instant,
        ) -> Result<AgentSettings, UpstreamError> {
            std::future::pending().await
        }

        async fn enable_override_permissions(
            &self,
            _: &AgentId,
            _: Instant,
        ) -> Result<(), UpstreamError> {
            Ok(())
        }

        async fn read_override_permissions(
            &self,
            _: &AgentId,
            _: Instant,
        ) -> Result<OverridePermissions, UpstreamError> {
            Ok(OverridePermissions::ALL)
        }
    }

    fn exposition(registry: &Registry) -> String {
        let mut text = String::new();
        encode(&mut text, registry).unwrap();
        text
    }

    fn metered() -> (Registry, Arc<Scripted>, MeteredAgentConfigurator) {
        let mut registry = Registry::with_prefix("precall");
        let metrics = UpstreamMetrics::register(&mut registry);
        let scripted = Arc::new(Scripted::default());
        let agents = MeteredAgentConfigurator::new(scripted.clone(), metrics);
        (registry, scripted, agents)
    }

    #[tokio::test]
    async fn calls_are_counted_by_operation_and_outcome_and_timed() {
        let (registry, scripted, agents) = metered();
        let agent = AgentId::parse("agent_secret_7").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);

        agents
            .update_agent(&agent, &AgentUpdate::default(), deadline)
            .await
            .unwrap();
        *scripted.0.lock().unwrap() = Some(UpstreamError::Refused("quota_exceeded".into()));
        let _ = agents
            .update_agent(&agent, &AgentUpdate::default(), deadline)
            .await;

        let text = exposition(&registry);
        for line in [
            r#"precall_upstream_calls_total{operation="update_agent",outcome="ok"} 1"#,
            r#"precall_upstream_calls_total{operation="update_agent",outcome="refused"} 1"#,
            r#"precall_upstream_call_duration_seconds_count{operation="update_agent"} 2"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(!text.contains("agent_secret_7"), "no id in a label: {text}");
        assert!(!text.contains("quota_exceeded"), "no message in a label");
    }

    #[tokio::test]
    async fn a_call_dropped_before_it_ends_is_counted_as_cancelled() {
        let (registry, _, agents) = metered();
        let agent = AgentId::parse("a1").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);

        let read = agents.read_agent(&agent, deadline);
        assert!(
            tokio::time::timeout(Duration::from_millis(1), read)
                .await
                .is_err()
        );

        let text = exposition(&registry);
        let line = r#"precall_upstream_calls_total{operation="read_agent",outcome="cancelled"} 1"#;
        assert!(text.lines().any(|l| l == line), "{text}");
    }
}
