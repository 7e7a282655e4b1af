//! The limiter and the breaker, with paused tokio time and a scripted cloner.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use super::*;
use crate::domain::{
    AgentId, ConversationId, SampleLimits, UtcDateTime, VoiceId, VoiceName, VoiceSample,
};
use crate::ports::{
    AgentConfigurator, AgentUpdate, CloneRequest, ClonedVoice, UpstreamError, VoiceCloner,
};

/// Answers every call after `latency` with the scripted result; counts calls and the most
/// in flight at once.
#[derive(Default)]
struct Scripted {
    result: Mutex<Option<UpstreamError>>,
    latency: Duration,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Scripted {
    fn failing(error: Option<UpstreamError>) -> Self {
        Self {
            result: Mutex::new(error),
            ..Self::default()
        }
    }

    fn slow(latency: Duration) -> Self {
        Self {
            latency,
            ..Self::default()
        }
    }

    fn set(&self, error: Option<UpstreamError>) {
        *self.result.lock().unwrap() = error;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn answer(&self) -> Result<(), UpstreamError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match self.result.lock().unwrap().clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl VoiceCloner for Scripted {
    async fn clone_voice(&self, _: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        self.answer().await?;
        Ok(ClonedVoice {
            voice_id: VoiceId::parse("v1").unwrap(),
            requires_verification: false,
        })
    }

    async fn delete_voice(&self, _: &VoiceId, _: Instant) -> Result<(), UpstreamError> {
        self.answer().await
    }
}

#[async_trait]
impl AgentConfigurator for Scripted {
    async fn update_agent(
        &self,
        _: &AgentId,
        _: &AgentUpdate,
        _: Instant,
    ) -> Result<(), UpstreamError> {
        self.answer().await
    }
}

struct Request {
    name: VoiceName,
    sample: VoiceSample,
    conversation_id: ConversationId,
    agent_id: AgentId,
}

impl Request {
    fn new() -> Self {
        let wav = crate::app::tone::wav(4.0, 8_000);
        Self {
            name: VoiceName::for_caller(None, UtcDateTime::from_unix(0)),
            sample: VoiceSample::probe(
                Bytes::from(wav),
                &SampleLimits {
                    min_duration_seconds: 3.0,
                    max_bytes: 1_000_000,
                },
            )
            .unwrap(),
            conversation_id: ConversationId::parse("c1").unwrap(),
            agent_id: AgentId::parse("a1").unwrap(),
        }
    }

    fn get(&self) -> CloneRequest<'_> {
        CloneRequest {
            name: &self.name,
            sample: &self.sample,
            conversation_id: &self.conversation_id,
            agent_id: &self.agent_id,
            deadline: Instant::now() + Duration::from_secs(3600),
        }
    }
}

fn unavailable() -> UpstreamError {
    UpstreamError::Unavailable("down".into())
}

fn breaker(threshold: u32) -> Arc<CircuitBreaker> {
    Arc::new(CircuitBreaker::new(BreakerSettings {
        threshold,
        cool_down: Duration::from_secs(30),
    }))
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_after_consecutive_failures_and_then_fails_fast() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let guarded = GuardedVoiceCloner::new(inner.clone(), breaker(3));
    let request = Request::new();
    for _ in 0..3 {
        assert!(guarded.clone_voice(request.get()).await.is_err());
    }
    let error = guarded.clone_voice(request.get()).await.unwrap_err();
    assert!(
        error.to_string().contains("failed 3 times in a row"),
        "{error}"
    );
    assert_eq!(
        inner.calls(),
        3,
        "the fourth call never reached the platform"
    );
}

#[tokio::test(start_paused = true)]
async fn refusals_prove_the_platform_is_up_and_reset_the_count() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let shared = breaker(2);
    let guarded = GuardedVoiceCloner::new(inner.clone(), Arc::clone(&shared));
    let request = Request::new();
    assert!(guarded.clone_voice(request.get()).await.is_err());
    inner.set(Some(UpstreamError::Refused("quota_exceeded".into())));
    assert!(guarded.clone_voice(request.get()).await.is_err());
    inner.set(Some(unavailable()));
    assert!(guarded.clone_voice(request.get()).await.is_err());
    assert!(
        !shared.is_open(),
        "one failure after a refusal does not open it"
    );
}

#[tokio::test(start_paused = true)]
async fn after_the_cool_down_one_trial_closes_it_on_success() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let shared = breaker(1);
    let guarded = GuardedVoiceCloner::new(inner.clone(), Arc::clone(&shared));
    let request = Request::new();
    assert!(guarded.clone_voice(request.get()).await.is_err());
    assert!(shared.is_open());
    tokio::time::advance(Duration::from_secs(31)).await;
    inner.set(None);
    assert!(guarded.clone_voice(request.get()).await.is_ok());
    assert!(!shared.is_open());
    assert_eq!(inner.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let shared = breaker(2);
    let guarded = GuardedVoiceCloner::new(inner.clone(), Arc::clone(&shared));
    let request = Request::new();
    for _ in 0..2 {
        let _ = guarded.clone_voice(request.get()).await;
    }
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(guarded.clone_voice(request.get()).await.is_err());
    assert!(shared.is_open(), "one failed trial is enough");
    assert_eq!(inner.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn agent_updates_and_clones_count_towards_the_same_breaker() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let shared = breaker(2);
    let cloner = GuardedVoiceCloner::new(inner.clone(), Arc::clone(&shared));
    let agents = GuardedAgentConfigurator::new(inner.clone(), Arc::clone(&shared));
    let request = Request::new();
    let _ = cloner.clone_voice(request.get()).await;
    let _ = agents
        .update_agent(
            &AgentId::parse("a1").unwrap(),
            &AgentUpdate::default(),
            Instant::now(),
        )
        .await;
    assert!(shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn a_rollback_is_attempted_even_while_the_breaker_is_open() {
    let inner = Arc::new(Scripted::failing(Some(unavailable())));
    let shared = breaker(1);
    let guarded = GuardedVoiceCloner::new(inner.clone(), Arc::clone(&shared));
    let _ = guarded.clone_voice(Request::new().get()).await;
    assert!(shared.is_open());
    inner.set(None);
    let deleted = guarded
        .delete_voice(
            &VoiceId::parse("v1").unwrap(),
            Instant::now() + Duration::from_secs(5),
        )
        .await;
    assert!(deleted.is_ok());
    assert_eq!(inner.calls(), 2);
}

fn limiter(inner: Arc<Scripted>, max_in_flight: usize, max_waiting: usize) -> Arc<CloneLimiter> {
    Arc::new(CloneLimiter::new(
        inner,
        LimiterSettings {
            max_in_flight,
            max_waiting,
            max_wait: Duration::from_secs(10),
        },
    ))
}

#[tokio::test(start_paused = true)]
async fn no_more_than_the_limit_of_clones_run_at_once() {
    let inner = Arc::new(Scripted::slow(Duration::from_secs(1)));
    let limited = limiter(inner.clone(), 2, 64);
    let request = Arc::new(Request::new());
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let (limited, request) = (Arc::clone(&limited), Arc::clone(&request));
            tokio::spawn(async move { limited.clone_voice(request.get()).await.is_ok() })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap());
    }
    assert_eq!(inner.most_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(inner.calls(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_clone_that_waits_too_long_is_busy_with_a_retry_hint() {
    let inner = Arc::new(Scripted::slow(Duration::from_secs(60)));
    let limited = limiter(inner.clone(), 1, 64);
    let request = Arc::new(Request::new());
    let first = {
        let (limited, request) = (Arc::clone(&limited), Arc::clone(&request));
        tokio::spawn(async move { limited.clone_voice(request.get()).await })
    };
    tokio::task::yield_now().await;
    let second = limited.clone_voice(request.get()).await;
    assert_eq!(
        second.unwrap_err(),
        UpstreamError::Busy(Duration::from_secs(10))
    );
    assert_eq!(limited.waiting(), 0);
    assert!(first.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_at_once() {
    // One running and two waiting, all done well within the 10 s wait.
    let inner = Arc::new(Scripted::slow(Duration::from_secs(3)));
    let limited = limiter(inner.clone(), 1, 2);
    let request = Arc::new(Request::new());
    let running: Vec<_> = (0..3)
        .map(|_| {
            let (limited, request) = (Arc::clone(&limited), Arc::clone(&request));
            tokio::spawn(async move { limited.clone_voice(request.get()).await })
        })
        .collect();
    while limited.waiting() < 2 {
        tokio::task::yield_now().await;
    }
    let started = tokio::time::Instant::now();
    let refused = limited.clone_voice(request.get()).await;
    assert!(matches!(refused, Err(UpstreamError::Busy(_))));
    assert_eq!(started.elapsed(), Duration::ZERO, "refused without waiting");
    for call in running {
        assert!(call.await.unwrap().is_ok());
    }
}
