//! The conversation-initiation use case on its own, over the in-memory registry: which clones
//! it serves (the reuse window, never shorter than the ring window) and that a registry that
//! cannot be read gives the neutral answer, never an error.

use std::sync::Arc;

use precall_webhook::adapters::InMemoryVoiceRegistry;
use precall_webhook::domain::{
    AgentId, AnswerInitiation, CallId, CallerKeySecret, ConversationId, GreetingTemplate,
    InitiationAnswer, InitiationRequest, InitiationSettings, RING_WINDOW, VoiceId, VoiceName,
};
use precall_webhook::ports::{AgentSettings, RegistryError, VoiceEntry, VoiceRegistry, VoiceState};

use crate::helpers::FixedClock;

const NOW: i64 = 1_800_000_000;
const CALLER: &str = "+31612345678";

fn secret() -> CallerKeySecret {
    CallerKeySecret::new("initiation-use-case")
}

fn use_case(registry: Arc<dyn VoiceRegistry>, reuse_max_age_secs: u64) -> AnswerInitiation {
    AnswerInitiation::new(
        registry,
        Arc::new(FixedClock(NOW)),
        InitiationSettings {
            caller_keys: secret(),
            greeting: GreetingTemplate::parse("Hoi {name}!").unwrap(),
            reuse_max_age: std::time::Duration::from_secs(reuse_max_age_secs),
        },
    )
}

/// Ivan's clone, last used `age` seconds ago.
async fn registry_with_clone_used(age: i64) -> Arc<InMemoryVoiceRegistry> {
    let registry = Arc::new(InMemoryVoiceRegistry::new());
    registry
        .register(VoiceEntry {
            voice_id: VoiceId::parse("v_ivan").unwrap(),
            voice_name: VoiceName::on_platform("Ivan_Clone"),
            caller_key: secret().key_of(CALLER),
            caller_name: Some("Ivan".into()),
            agent_id: AgentId::parse("agent_1").unwrap(),
            conversations: vec![ConversationId::parse("conv_1").unwrap()],
            calls: Vec::new(),
            created_at: NOW - age,
            last_used: NOW - age,
            state: VoiceState::Live,
        })
        .await
        .unwrap();
    registry
}

fn request(call: &str) -> InitiationRequest {
    InitiationRequest {
        caller_id: Some(CALLER.into()),
        call: CallId::parse(call),
    }
}

fn served(answer: &InitiationAnswer) -> Option<&str> {
    answer.voice.as_ref().map(|v| v.voice_id.as_str())
}

#[tokio::test]
async fn with_reuse_off_the_clone_of_a_pre_call_webhook_still_reaches_its_call() {
    let ring_window = RING_WINDOW.as_secs() as i64;
    let recent = registry_with_clone_used(ring_window - 10).await;
    let answer = use_case(recent.clone(), 0).answer(&request("CA1")).await;
    assert_eq!(served(&answer), Some("v_ivan"));
    assert_eq!(
        answer.voice.unwrap().first_message.as_deref(),
        Some("Hoi Ivan!")
    );
    let bound = recent
        .by_call(&CallId::parse("CA1").unwrap())
        .await
        .unwrap();
    assert!(bound.unwrap().in_call(), "bound, so the sweep keeps it");

    let stale = registry_with_clone_used(ring_window + 10).await;
    let answer = use_case(stale, 0).answer(&request("CA1")).await;
    assert_eq!(answer, InitiationAnswer::neutral());
}

#[tokio::test]
async fn within_the_reuse_window_an_older_clone_is_served() {
    let registry = registry_with_clone_used(7_200).await;
    let answer = use_case(registry, 86_400).answer(&request("CA1")).await;
    assert_eq!(served(&answer), Some("v_ivan"));
    assert_eq!(answer.caller_name.as_deref(), Some("Ivan"));
}

/// A store that is down.
struct Unreachable;

fn down<T>() -> Result<T, RegistryError> {
    Err(RegistryError("connection refused".into()))
}

#[async_trait::async_trait]
impl VoiceRegistry for Unreachable {
    async fn register(&self, _: VoiceEntry) -> Result<(), RegistryError> {
        down()
    }
    async fn reuse(
        &self,
        _: &precall_webhook::domain::CallerKey,
        _: i64,
        _: &ConversationId,
        _: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn by_conversation(
        &self,
        _: &ConversationId,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn by_call(&self, _: &CallId) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn by_voice(&self, _: &VoiceId) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn bind_call(
        &self,
        _: &precall_webhook::domain::CallerKey,
        _: i64,
        _: &CallId,
        _: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn end_call(&self, _: &VoiceId) -> Result<bool, RegistryError> {
        down()
    }
    async fn take(&self, _: &VoiceId, _: bool) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn least_recently_used(&self) -> Result<Option<VoiceEntry>, RegistryError> {
        down()
    }
    async fn entries(&self) -> Result<Vec<VoiceEntry>, RegistryError> {
        down()
    }
    async fn count(&self) -> Result<usize, RegistryError> {
        down()
    }
    async fn remember_agent_original(
        &self,
        _: &AgentId,
        _: &AgentSettings,
    ) -> Result<bool, RegistryError> {
        down()
    }
    async fn agent_original(&self, _: &AgentId) -> Result<Option<AgentSettings>, RegistryError> {
        down()
    }
}

#[tokio::test]
async fn a_registry_that_cannot_be_read_gives_the_neutral_answer() {
    let answer = use_case(Arc::new(Unreachable), 86_400)
        .answer(&request("CA1"))
        .await;
    assert_eq!(answer, InitiationAnswer::neutral());
}
