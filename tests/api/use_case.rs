//! The clone-and-personalise use case on its own, through the in-memory adapters: the rules
//! of SPEC "What the service does with a valid request", without HTTP in the way.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use precall_webhook::adapters::resilience::{CloneLimiter, LimiterSettings};
use precall_webhook::adapters::{
    InMemoryAgentConfigurator, InMemorySampleStore, InMemoryVoiceCloner, InMemoryVoiceRegistry,
    SymphoniaProbe,
};
use precall_webhook::domain::{
    CallerKeySecret, GreetingTemplate, PersonaliseCall, PersonaliseError, PersonalisePorts,
    PersonaliseSettings, PreCallEvent, RawPreCallEvent, Retirement, RetryPolicy, Rollback,
    SampleLimits, SampleUpload, VoiceSampleError,
};
use precall_webhook::ports::{Clock, UpstreamError};

/// 2025-12-10 12:34:56 UTC.
const NOW: i64 = 1_765_370_096;

struct FixedClock;
#[async_trait::async_trait]
impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        NOW
    }

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep(&self, duration: std::time::Duration) {
        tokio::time::sleep(duration).await;
    }
}

struct World {
    cloner: Arc<InMemoryVoiceCloner>,
    agents: Arc<InMemoryAgentConfigurator>,
    store: Arc<InMemorySampleStore>,
    use_case: PersonaliseCall,
}

fn world(storage: bool) -> World {
    world_with_deadline(storage, Duration::from_secs(30))
}

fn world_with_deadline(storage: bool, upstream_deadline: Duration) -> World {
    let cloner = Arc::new(InMemoryVoiceCloner::new());
    let agents = Arc::new(InMemoryAgentConfigurator::new());
    let store = Arc::new(InMemorySampleStore::new());
    let registry = Arc::new(InMemoryVoiceRegistry::new());
    let use_case = PersonaliseCall::new(
        PersonalisePorts {
            cloner: cloner.clone(),
            permits: Arc::new(CloneLimiter::new(LimiterSettings {
                max_in_flight: 4,
                max_waiting: 64,
                max_wait: Duration::from_secs(10),
            })),
            registry: registry.clone(),
            agents: agents.clone(),
            store: storage.then(|| store.clone() as _),
            clock: Arc::new(FixedClock),
            probe: Arc::new(SymphoniaProbe),
        },
        PersonaliseSettings {
            greeting: GreetingTemplate::parse("Hallo {name}, fijn dat je belt!").unwrap(),
            sample_limits: SampleLimits {
                min_duration_seconds: 3.0,
                max_bytes: 10_000_000,
            },
            upstream_deadline,
            min_clone_attempt: Duration::from_secs(5),
            retry: RetryPolicy::with_max_retries(3),
            reuse_max_age: Duration::from_secs(86_400),
            caller_keys: CallerKeySecret::new("use-case"),
            max_live_clones: 0,
            agent_update: Default::default(),
        },
        Arc::new(Retirement::new(
            cloner.clone(),
            agents.clone(),
            registry.clone(),
            Arc::new(FixedClock),
            Default::default(),
        )),
    );
    World {
        cloner,
        agents,
        store,
        use_case,
    }
}

/// A 16-bit mono PCM WAV of `seconds` at 16 kHz.
fn wav(seconds: f64) -> Bytes {
    Bytes::from(precall_webhook::app::tone::wav(seconds, 16_000))
}

fn event(name: Option<&str>, sample: Option<Bytes>) -> PreCallEvent {
    PreCallEvent::parse(
        RawPreCallEvent {
            event_type: "pre_call".into(),
            conversation_id: "conv_abc123xyz".into(),
            agent_id: "agent_def456uvw".into(),
            event_timestamp: Some(NOW),
            name: name.map(str::to_owned),
            date_of_birth: Some("11.12.2007".into()),
            phone_number: Some("+31612345678".into()),
        },
        sample.map(|bytes| SampleUpload {
            bytes,
            claimed_duration_seconds: Some(99.0),
            claimed_sample_rate: Some(44_100),
        }),
    )
    .unwrap()
}

#[tokio::test]
async fn clones_the_sample_then_sets_voice_and_greeting_on_the_agent() {
    let w = world(false);
    let sample = wav(5.0);
    let outcome = w
        .use_case
        .run(event(Some("Ivan"), Some(sample.clone())))
        .await
        .unwrap();

    let voice = outcome.voice.unwrap();
    assert_eq!(voice.voice_name.as_str(), "Ivan_Clone_20251210_123456");
    let clones = w.cloner.clones();
    assert_eq!(clones.len(), 1);
    assert_eq!(clones[0].bytes, sample);
    assert_eq!(clones[0].voice_id, voice.voice_id);
    assert_eq!(clones[0].conversation_id.as_str(), "conv_abc123xyz");
    let updates = w.agents.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].agent_id.as_str(), "agent_def456uvw");
    assert_eq!(updates[0].update.voice_id.as_ref(), Some(&voice.voice_id));
    assert_eq!(
        updates[0].update.first_message.as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
    assert!(outcome.agent_updated);
    assert_eq!(outcome.caller_info.name.as_deref(), Some("Ivan"));
    assert_eq!(
        outcome.caller_info.date_of_birth.as_deref(),
        Some("11.12.2007")
    );
}

#[tokio::test]
async fn without_a_sample_only_the_greeting_is_set() {
    let w = world(false);
    let outcome = w.use_case.run(event(Some("Ivan"), None)).await.unwrap();
    assert!(outcome.voice.is_none());
    assert!(w.cloner.clones().is_empty());
    let updates = w.agents.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].update.voice_id, None);
    assert!(updates[0].update.first_message.is_some());
}

#[tokio::test]
async fn without_a_name_only_the_voice_is_set_and_named_caller() {
    let w = world(false);
    let outcome = w.use_case.run(event(None, Some(wav(4.0)))).await.unwrap();
    assert_eq!(
        outcome.voice.unwrap().voice_name.as_str(),
        "Caller_Clone_20251210_123456"
    );
    let updates = w.agents.updates();
    assert_eq!(updates[0].update.first_message, None);
    assert!(updates[0].update.voice_id.is_some());
}

#[tokio::test]
async fn with_neither_sample_nor_name_the_agent_is_left_alone() {
    let w = world(false);
    let outcome = w.use_case.run(event(None, None)).await.unwrap();
    assert!(!outcome.agent_updated);
    assert!(w.agents.updates().is_empty());
}

#[tokio::test]
async fn a_short_sample_is_refused_before_anything_upstream() {
    let w = world(true);
    let error = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(1.2))))
        .await
        .unwrap_err()
        .error;
    assert_eq!(
        error,
        PersonaliseError::InvalidSample(VoiceSampleError::TooShort {
            duration: 1.2,
            min: 3.0
        })
    );
    assert_eq!(
        error.to_string(),
        "Voice sample too short: 1.2 s (min 3.0 s)"
    );
    assert!(w.cloner.clones().is_empty());
    assert!(w.agents.updates().is_empty());
    assert!(w.store.samples().is_empty());
}

#[tokio::test]
async fn a_refused_clone_leaves_the_agent_alone() {
    let w = world(false);
    w.cloner.fail_clones_with(Some(UpstreamError::Refused(
        "voice_limit_reached: full".into(),
    )));
    let error = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap_err()
        .error;
    assert_eq!(
        error.to_string(),
        "Voice cloning failed: voice_limit_reached: full"
    );
    assert!(w.agents.updates().is_empty());
}

#[tokio::test]
async fn a_failed_agent_update_deletes_the_new_voice_once() {
    let w = world(false);
    w.agents
        .fail_updates_with(Some(UpstreamError::InvalidRequest(
            "agent not found".into(),
        )));
    let error = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap_err()
        .error;
    let cloned = w.cloner.clones()[0].voice_id.clone();
    assert_eq!(w.cloner.deleted(), vec![cloned.clone()]);
    assert!(matches!(
        error,
        PersonaliseError::AgentUpdateFailed { rollback: Rollback::Deleted(ref id), .. } if *id == cloned
    ));
}

#[tokio::test]
async fn a_failed_rollback_reports_the_orphan_voice() {
    let w = world(false);
    w.agents
        .fail_updates_with(Some(UpstreamError::Unavailable("timeout".into())));
    w.cloner
        .fail_deletes_with(Some(UpstreamError::Unavailable("timeout".into())));
    let error = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap_err();
    let cloned = w.cloner.clones()[0].voice_id.clone();
    assert!(error.voice_may_remain, "the orphan is the clean-up's");
    assert!(matches!(
        error.error,
        PersonaliseError::AgentUpdateFailed { rollback: Rollback::Failed(ref id), .. } if *id == cloned
    ));
    assert!(w.cloner.deleted().is_empty());
}

#[tokio::test]
async fn keeps_the_sample_when_storage_is_on_even_if_the_clone_fails() {
    let w = world(true);
    w.cloner
        .fail_clones_with(Some(UpstreamError::Unavailable("down".into())));
    let sample = wav(5.0);
    assert!(
        w.use_case
            .run(event(Some("Ivan"), Some(sample.clone())))
            .await
            .is_err()
    );
    let kept = w.store.samples();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].bytes, sample);
    assert_eq!(kept[0].conversation_id.as_str(), "conv_abc123xyz");
}

#[tokio::test]
async fn stores_nothing_when_storage_is_off() {
    let w = world(false);
    w.use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap();
    assert!(w.store.samples().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_clone_whose_answer_was_lost_is_found_and_adopted_instead_of_cloned_again() {
    let w = world(false);
    w.cloner.lose_clone_answers(1, None);
    let outcome = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap();
    let clones = w.cloner.clones();
    assert_eq!(clones.len(), 1, "one voice, not two");
    let voice = outcome.voice.unwrap();
    assert_eq!(voice.voice_id, clones[0].voice_id);
    assert_eq!(w.cloner.live_voices(), vec![voice.voice_id.clone()]);
    assert_eq!(
        w.agents.settings(&clones[0].agent_id).voice_id,
        Some(voice.voice_id),
        "the account holds exactly the voice the agent got"
    );
}

#[tokio::test(start_paused = true)]
async fn a_delivery_told_a_voice_may_exist_adopts_it_without_cloning() {
    let w = world(false);
    w.cloner.lose_clone_answers(1, None);
    let outcome = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap();
    assert_eq!(w.cloner.clones().len(), 1);
    let call = w
        .use_case
        .prepare(event(Some("Ivan"), Some(wav(5.0))))
        .unwrap();
    let again = w.use_case.execute(call, true).await.unwrap();
    assert_eq!(
        again.outcome.voice, outcome.voice,
        "the redelivery adopts the same voice"
    );
    assert_eq!(w.cloner.clones().len(), 1, "and clones nothing");
}

#[tokio::test(start_paused = true)]
async fn an_agent_update_whose_answer_was_lost_is_read_back_and_kept_when_applied() {
    let w = world(false);
    w.agents.lose_update_answers(1);
    let outcome = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap();
    assert!(outcome.agent_updated);
    assert!(
        w.cloner.deleted().is_empty(),
        "the agent uses the voice: never deleted"
    );
}

#[tokio::test(start_paused = true)]
async fn an_agent_that_cannot_be_read_back_keeps_the_voice_for_the_clean_up() {
    let w = world(false);
    w.agents.lose_update_answers(1);
    w.agents
        .fail_reads_with(Some(UpstreamError::Unavailable("down".into())));
    let failure = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap_err();
    assert!(failure.voice_may_remain);
    assert!(matches!(
        failure.error,
        PersonaliseError::AgentUpdateFailed {
            rollback: Rollback::Kept(_),
            ..
        }
    ));
    assert!(w.cloner.deleted().is_empty(), "not deleted blindly");
}

#[tokio::test(start_paused = true)]
async fn a_lost_clone_answer_asking_to_retry_after_2_s_is_looked_up_only_after_2_s() {
    let w = world(false);
    w.cloner.lose_clone_answers(1, Some(Duration::from_secs(2)));
    let started = tokio::time::Instant::now();
    let outcome = w
        .use_case
        .run(event(Some("Ivan"), Some(wav(5.0))))
        .await
        .unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "Retry-After honoured, not 0 ms"
    );
    assert_eq!(w.cloner.clones().len(), 1);
    assert_eq!(
        w.cloner.live_voices(),
        vec![outcome.voice.unwrap().voice_id]
    );
}

#[tokio::test(start_paused = true)]
async fn the_upstream_deadline_starts_once_a_clone_slot_is_held_not_while_queueing() {
    // Four clones of 6 s hold every slot; a fifth queues 6 s for one. Counted from its
    // arrival, its 10 s deadline would leave 4 s, under the 5 s a clone attempt needs.
    let w = world_with_deadline(false, Duration::from_secs(10));
    w.cloner.set_latency(Duration::from_secs(6));
    let use_case = Arc::new(w.use_case);
    let runs: Vec<_> = (0..5)
        .map(|_| {
            let use_case = Arc::clone(&use_case);
            tokio::spawn(async move { use_case.run(event(Some("Ivan"), Some(wav(5.0)))).await })
        })
        .collect();
    for run in runs {
        assert!(
            run.await.unwrap().is_ok(),
            "every clone had its full deadline"
        );
    }
    assert_eq!(w.cloner.clones().len(), 5);
}

/// A webhook from another caller (`phone`), for `conversation_id`, with a 5 s sample.
fn caller_event(conversation_id: &str, phone: &str) -> PreCallEvent {
    PreCallEvent::parse(
        RawPreCallEvent {
            event_type: "pre_call".into(),
            conversation_id: conversation_id.into(),
            agent_id: "agent_def456uvw".into(),
            event_timestamp: Some(NOW),
            name: Some("Ivan".into()),
            date_of_birth: None,
            phone_number: Some(phone.into()),
        },
        Some(SampleUpload {
            bytes: wav(5.0),
            claimed_duration_seconds: None,
            claimed_sample_rate: None,
        }),
    )
    .unwrap()
}

#[tokio::test]
async fn an_eviction_to_make_room_is_reported_with_the_outcome_and_with_a_failure() {
    let w = world(false);
    w.cloner.set_voice_limit(2);
    for (conversation, phone) in [("conv_a", "+31600000001"), ("conv_b", "+31600000002")] {
        let call = w
            .use_case
            .prepare(caller_event(conversation, phone))
            .unwrap();
        let personalised = w.use_case.execute(call, false).await.unwrap();
        assert_eq!(personalised.evictions, 0, "room enough for {conversation}");
    }

    let call = w
        .use_case
        .prepare(caller_event("conv_c", "+31600000003"))
        .unwrap();
    let personalised = w.use_case.execute(call, false).await.unwrap();
    assert_eq!(personalised.evictions, 1, "the slots were full");
    assert_eq!(w.cloner.deleted().len(), 1);

    w.agents
        .fail_updates_with(Some(UpstreamError::InvalidRequest(
            "agent not found".into(),
        )));
    let call = w
        .use_case
        .prepare(caller_event("conv_d", "+31600000004"))
        .unwrap();
    let failure = w.use_case.execute(call, false).await.unwrap_err();
    assert!(matches!(
        failure.error,
        PersonaliseError::AgentUpdateFailed { .. }
    ));
    assert_eq!(
        failure.evictions, 1,
        "the clone evicted for it is gone although the call failed"
    );
}
