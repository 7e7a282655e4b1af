//! The limiter and the breaker, with paused tokio time and a scripted platform.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::*;
use crate::domain::{AgentId, ConversationId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, ClonePermits, CloneRequest, ClonedVoice,
    FoundVoice, ListedVoice, OverridePermissions, UpstreamError, VoiceCloner,
};

/// Answers every call after `latency` with the scripted result; counts calls.
#[derive(Default)]
struct Scripted {
    result: Mutex<Option<UpstreamError>>,
    latency: Mutex<Duration>,
    calls: AtomicUsize,
}

impl Scripted {
    fn failing(error: Option<UpstreamError>) -> Arc<Self> {
        Arc::new(Self {
            result: Mutex::new(error),
            ..Self::default()
        })
    }

    fn set(&self, error: Option<UpstreamError>) {
        *self.result.lock().unwrap() = error;
    }

    fn slow_down(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn answer(&self) -> Result<(), UpstreamError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let latency = *self.latency.lock().unwrap();
        let result = self.result.lock().unwrap().clone();
        tokio::time::sleep(latency).await;
        match result {
            Some(error) => Err(error),
            None => Ok(()),
        }
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

    async fn read_agent(&self, _: &AgentId, _: Instant) -> Result<AgentSettings, UpstreamError> {
        self.answer().await.map(|()| AgentSettings::default())
    }

    async fn enable_override_permissions(
        &self,
        _: &AgentId,
        _: Instant,
    ) -> Result<(), UpstreamError> {
        self.answer().await
    }

    async fn read_override_permissions(
        &self,
        _: &AgentId,
        _: Instant,
    ) -> Result<OverridePermissions, UpstreamError> {
        self.answer().await.map(|()| OverridePermissions::ALL)
    }
}

#[async_trait]
impl VoiceCloner for Scripted {
    async fn clone_voice(&self, _: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        self.answer().await.map(|()| ClonedVoice {
            voice_id: VoiceId::parse("v1").unwrap(),
            requires_verification: false,
        })
    }

    async fn find_voices(
        &self,
        _: &ConversationId,
        _: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        self.answer().await.map(|()| Vec::new())
    }

    async fn list_voices(&self, _: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        self.answer().await.map(|()| Vec::new())
    }

    async fn delete_voice(&self, _: &VoiceId, _: Instant) -> Result<(), UpstreamError> {
        self.answer().await
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

fn guarded(inner: &Arc<Scripted>, breaker: &Arc<CircuitBreaker>) -> Arc<GuardedAgentConfigurator> {
    Arc::new(GuardedAgentConfigurator::new(
        Arc::clone(inner) as Arc<dyn AgentConfigurator>,
        Arc::clone(breaker),
    ))
}

async fn update(agents: &GuardedAgentConfigurator) -> Result<(), UpstreamError> {
    agents
        .update_agent(
            &AgentId::parse("a1").unwrap(),
            &AgentUpdate::default(),
            Instant::now() + Duration::from_secs(3600),
        )
        .await
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_after_consecutive_failures_and_then_fails_fast() {
    let inner = Scripted::failing(Some(unavailable()));
    let agents = guarded(&inner, &breaker(3));
    for _ in 0..3 {
        assert!(update(&agents).await.is_err());
    }
    let error = update(&agents).await.unwrap_err();
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
async fn uncertain_answers_count_as_failures() {
    let inner = Scripted::failing(Some(UpstreamError::Uncertain {
        reason: "timed out".into(),
        retry_after: None,
    }));
    let shared = breaker(2);
    let agents = guarded(&inner, &shared);
    let _ = update(&agents).await;
    let _ = update(&agents).await;
    assert!(shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_spent_before_sending_and_our_own_limits_say_nothing_about_the_platform() {
    let inner = Scripted::failing(Some(UpstreamError::OutOfTime("no time left".into())));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    for _ in 0..5 {
        let _ = update(&agents).await;
    }
    inner.set(Some(UpstreamError::Busy(Duration::from_secs(1))));
    let _ = update(&agents).await;
    assert!(!shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn refusals_prove_the_platform_is_up_and_reset_the_count() {
    for refusal in [
        UpstreamError::Refused("voice_add_edit_limit_reached".into()),
        UpstreamError::VoiceLimitReached("voice_limit_reached".into()),
    ] {
        let inner = Scripted::failing(Some(unavailable()));
        let shared = breaker(2);
        let agents = guarded(&inner, &shared);
        assert!(update(&agents).await.is_err());
        inner.set(Some(refusal.clone()));
        assert!(update(&agents).await.is_err());
        inner.set(Some(unavailable()));
        assert!(update(&agents).await.is_err());
        assert!(
            !shared.is_open(),
            "one failure after {refusal:?} does not open it"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn after_the_cool_down_one_trial_closes_it_on_success() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    assert!(update(&agents).await.is_err());
    assert!(shared.is_open());
    tokio::time::advance(Duration::from_secs(31)).await;
    inner.set(None);
    assert!(update(&agents).await.is_ok());
    assert!(!shared.is_open());
    assert_eq!(inner.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_trial_opens_it_again() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(2);
    let agents = guarded(&inner, &shared);
    for _ in 0..2 {
        let _ = update(&agents).await;
    }
    tokio::time::advance(Duration::from_secs(31)).await;
    assert!(update(&agents).await.is_err());
    assert!(shared.is_open(), "one failed trial is enough");
    assert_eq!(inner.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_trial_that_never_reached_the_platform_lets_the_next_call_try_at_once() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    let _ = update(&agents).await;
    tokio::time::advance(Duration::from_secs(31)).await;
    inner.set(Some(UpstreamError::OutOfTime("no time left".into())));
    let _ = update(&agents).await;
    inner.set(None);
    assert!(update(&agents).await.is_ok(), "not stuck half-open");
    assert!(!shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_trial_does_not_leave_the_breaker_stuck() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    let _ = update(&agents).await;
    tokio::time::advance(Duration::from_secs(31)).await;
    inner.set(None);
    inner.slow_down(Duration::from_secs(60));
    let cancelled = tokio::time::timeout(Duration::from_secs(1), update(&agents)).await;
    assert!(cancelled.is_err(), "the trial was cancelled mid-call");
    inner.slow_down(Duration::ZERO);
    assert!(update(&agents).await.is_ok());
    assert!(!shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn while_half_open_only_the_trial_decides() {
    let inner = Scripted::failing(None);
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    // A slow call admitted while closed...
    inner.slow_down(Duration::from_secs(40));
    let slow = {
        let agents = Arc::clone(&agents);
        tokio::spawn(async move { update(&agents).await })
    };
    tokio::task::yield_now().await;
    // ...then the breaker opens, the cool-down passes and a trial goes out and fails.
    inner.slow_down(Duration::ZERO);
    inner.set(Some(unavailable()));
    let _ = update(&agents).await;
    assert!(shared.is_open());
    tokio::time::advance(Duration::from_secs(31)).await;
    inner.slow_down(Duration::from_secs(20));
    let trial = {
        let agents = Arc::clone(&agents);
        tokio::spawn(async move { update(&agents).await })
    };
    tokio::task::yield_now().await;
    // The slow success lands while the trial is out: it must not close the breaker.
    assert!(slow.await.unwrap().is_ok());
    assert!(
        shared.is_open(),
        "a call admitted before the trial does not decide"
    );
    assert!(trial.await.unwrap().is_err());
    assert!(shared.is_open());
}

#[tokio::test(start_paused = true)]
async fn look_ups_and_deletes_are_attempted_even_while_the_breaker_is_open() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    let _ = update(&agents).await;
    assert!(shared.is_open());
    inner.set(None);
    let read = agents
        .read_agent(
            &AgentId::parse("a1").unwrap(),
            Instant::now() + Duration::from_secs(5),
        )
        .await;
    assert!(read.is_ok());
    assert_eq!(inner.calls(), 2);
    let _ = VoiceId::parse("v1").unwrap();
}

#[tokio::test(start_paused = true)]
async fn while_open_enabling_overrides_fails_fast_and_reading_them_is_attempted() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    let _ = update(&agents).await;
    assert!(shared.is_open());
    inner.set(None);
    let agent = AgentId::parse("a1").unwrap();
    let in_5s = Instant::now() + Duration::from_secs(5);

    let enabled = agents.enable_override_permissions(&agent, in_5s).await;
    let read = agents.read_override_permissions(&agent, in_5s).await;

    assert!(enabled.is_err(), "a change is held back while open");
    assert_eq!(read, Ok(OverridePermissions::ALL));
    assert_eq!(inner.calls(), 2, "the failed update and the read");
}

#[tokio::test(start_paused = true)]
async fn listing_our_voices_is_attempted_while_open_and_its_failures_count() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(2);
    let agents = guarded(&inner, &shared);
    let voices = GuardedVoiceCloner::new(
        Arc::clone(&inner) as Arc<dyn VoiceCloner>,
        Arc::clone(&shared),
    );
    let in_5s = || Instant::now() + Duration::from_secs(5);
    let _ = update(&agents).await;
    assert!(voices.list_voices(in_5s()).await.is_err());
    assert!(shared.is_open(), "a failed listing counts");

    inner.set(None);
    assert!(voices.list_voices(in_5s()).await.is_ok());
    assert_eq!(
        inner.calls(),
        3,
        "the sweep's listing went through while open"
    );
    assert!(shared.is_open(), "an always-attempted call does not decide");
}

fn limiter(max_in_flight: usize, max_waiting: usize) -> Arc<CloneLimiter> {
    Arc::new(CloneLimiter::new(LimiterSettings {
        max_in_flight,
        max_waiting,
        max_wait: Duration::from_secs(10),
    }))
}

#[tokio::test(start_paused = true)]
async fn no_more_than_the_limit_of_places_are_held_at_once() {
    let limited = limiter(2, 64);
    let first = limited.acquire().await.unwrap();
    let _second = limited.acquire().await.unwrap();
    let third = {
        let limited = Arc::clone(&limited);
        tokio::spawn(async move { limited.acquire().await.is_ok() })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(limited.waiting(), 1, "the third waits");
    drop(first);
    assert!(third.await.unwrap(), "a freed place goes to the waiter");
}

#[tokio::test(start_paused = true)]
async fn a_clone_that_waits_too_long_is_busy_with_a_retry_hint() {
    let limited = limiter(1, 64);
    let _held = limited.acquire().await.unwrap();
    let started = tokio::time::Instant::now();
    let refused = limited.acquire().await;
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert!(matches!(refused, Err(UpstreamError::Busy(wait)) if wait == Duration::from_secs(10)));
    assert_eq!(limited.waiting(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_refuses_at_once() {
    let limited = limiter(1, 2);
    let _held = limited.acquire().await.unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let limited = Arc::clone(&limited);
            tokio::spawn(async move { limited.acquire().await.map(drop) })
        })
        .collect();
    tokio::task::yield_now().await;
    assert_eq!(limited.waiting(), 2);
    let started = tokio::time::Instant::now();
    assert!(matches!(
        limited.acquire().await,
        Err(UpstreamError::Busy(_))
    ));
    assert_eq!(started.elapsed(), Duration::ZERO, "refused without waiting");
    for waiter in waiters {
        let _ = waiter.await;
    }
}

#[tokio::test(start_paused = true)]
async fn the_state_reads_closed_open_then_half_open_once_the_cool_down_is_over() {
    let inner = Scripted::failing(Some(unavailable()));
    let shared = breaker(1);
    let agents = guarded(&inner, &shared);
    assert_eq!(shared.state(), BreakerState::Closed);
    let _ = update(&agents).await;
    assert_eq!(shared.state(), BreakerState::Open);
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(
        shared.state(),
        BreakerState::HalfOpen,
        "the next call is the trial"
    );
    inner.set(None);
    inner.slow_down(Duration::from_secs(5));
    let trial = {
        let agents = Arc::clone(&agents);
        tokio::spawn(async move { update(&agents).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(shared.state(), BreakerState::HalfOpen, "the trial is out");
    assert!(trial.await.unwrap().is_ok());
    assert_eq!(shared.state(), BreakerState::Closed);
}

#[tokio::test(start_paused = true)]
async fn in_flight_counts_the_places_held() {
    let limited = limiter(2, 64);
    assert_eq!(limited.in_flight(), 0);
    let first = limited.acquire().await.unwrap();
    let second = limited.acquire().await.unwrap();
    assert_eq!(limited.in_flight(), 2);
    drop(first);
    assert_eq!(limited.in_flight(), 1);
    drop(second);
    assert_eq!(limited.in_flight(), 0);
}
