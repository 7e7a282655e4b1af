//! The clean-up use case on its own, through the in-memory adapters and on paused time: what a
//! lost answer left behind is deleted, unless a redelivery holds the conversation or the agent
//! uses the voice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use precall_webhook::adapters::{
    InMemoryAgentConfigurator, InMemoryDeliveryLedger, InMemoryVoiceCloner, InMemoryVoiceRegistry,
    SystemClock,
};
use precall_webhook::domain::{
    AgentId, AudioFormat, Cleanup, CleanupOutcome, CleanupSettings, CleanupTarget, ConversationId,
    Deliveries, Delivery, DeliverySettings, Measurement, PreCallEvent, RawPreCallEvent,
    SampleLimits, UtcDateTime, VoiceId, VoiceName, VoiceSample,
};
use precall_webhook::ports::{AgentConfigurator, AgentUpdate, CloneRequest, VoiceCloner};

const CONVERSATION: &str = "conv_cleanup";
const AGENT: &str = "agent_def456uvw";

struct World {
    cloner: Arc<InMemoryVoiceCloner>,
    agents: Arc<InMemoryAgentConfigurator>,
    deliveries: Arc<Deliveries>,
    cleanup: Cleanup,
}

fn world() -> World {
    let cloner = Arc::new(InMemoryVoiceCloner::new());
    let agents = Arc::new(InMemoryAgentConfigurator::new());
    let deliveries = Arc::new(Deliveries::new(
        Arc::new(InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100)),
        Arc::new(SystemClock),
        DeliverySettings {
            lease: Duration::from_secs(80),
            max_wait: Duration::from_secs(50),
        },
    ));
    let cleanup = Cleanup::new(
        cloner.clone(),
        agents.clone(),
        Arc::new(InMemoryVoiceRegistry::new()),
        Arc::clone(&deliveries),
        Arc::new(SystemClock),
        CleanupSettings {
            budget: Duration::from_secs(10),
            poll_interval: Duration::from_secs(2),
        },
    );
    World {
        cloner,
        agents,
        deliveries,
        cleanup,
    }
}

fn event() -> PreCallEvent {
    PreCallEvent::parse(
        RawPreCallEvent {
            event_type: "pre_call".into(),
            conversation_id: CONVERSATION.into(),
            agent_id: AGENT.into(),
            event_timestamp: None,
            name: Some("Ivan".into()),
            date_of_birth: None,
            phone_number: None,
        },
        None,
    )
    .unwrap()
}

fn target(keep: Option<VoiceId>) -> CleanupTarget {
    let event = event();
    CleanupTarget {
        conversation_id: event.conversation_id.clone(),
        agent_id: event.agent_id.clone(),
        fingerprint: event.fingerprint(),
        keep,
    }
}

/// Makes a voice for the conversation on the in-memory account, as a lost answer would leave.
async fn voice_left_behind(cloner: &InMemoryVoiceCloner) -> VoiceId {
    let limits = SampleLimits {
        min_duration_seconds: 3.0,
        max_bytes: 1_000_000,
    };
    let sample = VoiceSample::from_measurement(
        Bytes::from(precall_webhook::app::tone::wav(4.0, 8_000)),
        Measurement {
            format: AudioFormat::Wav,
            duration_seconds: 4.0,
            sample_rate: 8_000,
            channels: 1,
        },
        &limits,
    )
    .unwrap();
    let name = VoiceName::for_caller(Some("Ivan"), UtcDateTime::from_unix(0));
    let request = CloneRequest {
        name: &name,
        sample: &sample,
        conversation_id: &ConversationId::parse(CONVERSATION).unwrap(),
        agent_id: &AgentId::parse(AGENT).unwrap(),
        deadline: Instant::now() + Duration::from_secs(30),
        min_attempt: Duration::ZERO,
    };
    cloner.clone_voice(request).await.unwrap().voice_id
}

#[tokio::test(start_paused = true)]
async fn after_a_failed_delivery_the_voice_a_lost_answer_left_is_deleted() {
    let w = world();
    let orphan = voice_left_behind(&w.cloner).await;

    let outcome = w.cleanup.run(&target(None)).await;

    assert_eq!(outcome, CleanupOutcome::Deleted(1));
    assert_eq!(w.cloner.deleted(), vec![orphan]);
    assert!(w.cloner.live_voices().is_empty(), "the account holds none");
}

#[tokio::test(start_paused = true)]
async fn a_voice_that_appears_late_is_still_found_within_the_budget() {
    let w = world();
    let cloner = Arc::clone(&w.cloner);
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        voice_left_behind(&cloner).await
    });

    let outcome = w.cleanup.run(&target(None)).await;

    let orphan = late.await.unwrap();
    assert_eq!(outcome, CleanupOutcome::Deleted(1));
    assert_eq!(w.cloner.deleted(), vec![orphan]);
}

#[tokio::test(start_paused = true)]
async fn a_redelivery_holding_the_conversation_keeps_the_voice_to_adopt_it() {
    let w = world();
    let voice = voice_left_behind(&w.cloner).await;
    let Delivery::First(_redelivery) = w.deliveries.begin(&event()).await.unwrap() else {
        panic!("the redelivery claims the conversation");
    };

    let outcome = w.cleanup.run(&target(None)).await;

    assert_eq!(outcome, CleanupOutcome::TakenOver);
    assert_eq!(w.cloner.live_voices(), vec![voice]);
}

#[tokio::test(start_paused = true)]
async fn a_voice_the_agent_uses_is_never_deleted() {
    let w = world();
    let voice = voice_left_behind(&w.cloner).await;
    let update = AgentUpdate {
        voice_id: Some(voice.clone()),
        first_message: None,
    };
    w.agents
        .update_agent(
            &AgentId::parse(AGENT).unwrap(),
            &update,
            Instant::now() + Duration::from_secs(5),
        )
        .await
        .unwrap();

    let outcome = w.cleanup.run(&target(None)).await;

    assert_eq!(outcome, CleanupOutcome::Left(1));
    assert_eq!(w.cloner.live_voices(), vec![voice]);
}

#[tokio::test(start_paused = true)]
async fn after_a_success_only_late_duplicates_are_deleted_and_the_calls_voice_kept() {
    let w = world();
    let kept = voice_left_behind(&w.cloner).await;
    let duplicate = voice_left_behind(&w.cloner).await;

    let outcome = w.cleanup.run(&target(Some(kept.clone()))).await;

    assert_eq!(outcome, CleanupOutcome::Deleted(1));
    assert_eq!(w.cloner.deleted(), vec![duplicate]);
    assert_eq!(w.cloner.live_voices(), vec![kept]);
}
