//! Agent personalisation: `PATCH /v1/convai/agents/{agent_id}` with only the parts that apply,
//! and `GET` of the same agent to read back what it has; the same two calls turn on and read
//! the agent's override permissions (their JSON is in `agent_overrides`).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::agent_overrides::{AgentOverridesModel, enable_body};
use super::client::{CallError, ElevenLabsClient, Replay};
use crate::domain::{AgentId, VoiceId};
use crate::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, OverridePermissions, UpstreamError,
};

/// The parts of `GetAgentResponseModel` we read.
#[derive(Deserialize, Default)]
struct AgentModel {
    #[serde(default)]
    conversation_config: ConversationConfig,
}

#[derive(Deserialize, Default)]
struct ConversationConfig {
    #[serde(default)]
    tts: Option<Tts>,
    #[serde(default)]
    agent: Option<AgentPart>,
}

#[derive(Deserialize)]
struct Tts {
    #[serde(default)]
    voice_id: Option<String>,
}

#[derive(Deserialize)]
struct AgentPart {
    #[serde(default)]
    first_message: Option<String>,
}

/// `{"conversation_config":{"tts":{"voice_id":…},"agent":{"first_message":…}}}`, leaving out
/// what does not change: a partial object leaves the rest of the agent as it is.
pub(super) fn patch_body(update: &AgentUpdate) -> Value {
    let mut config = Map::new();
    if let Some(voice_id) = &update.voice_id {
        config.insert("tts".into(), json!({ "voice_id": voice_id.as_str() }));
    }
    if let Some(first_message) = &update.first_message {
        config.insert("agent".into(), json!({ "first_message": first_message }));
    }
    json!({ "conversation_config": config })
}

impl ElevenLabsClient {
    /// `PATCH`es the agent with `body`; it converges, so it is retried as idempotent.
    async fn patch_agent(
        &self,
        operation: &'static str,
        agent_id: &AgentId,
        body: &Value,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "convai", "agents", agent_id.as_str()]);
        self.call(
            operation,
            Replay::Idempotent,
            deadline,
            Duration::ZERO,
            || self.http().patch(url.clone()).json(body),
        )
        .await
        .map(|_| ())
        .map_err(CallError::into_upstream)
    }

    /// `GET`s the agent and reads the parts `T` models from it.
    async fn get_agent<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<T, UpstreamError> {
        let url = self.url(&["v1", "convai", "agents", agent_id.as_str()]);
        let body = self
            .call(operation, Replay::Safe, deadline, Duration::ZERO, || {
                self.http().get(url.clone())
            })
            .await
            .map_err(CallError::into_upstream)?;
        serde_json::from_slice(&body).map_err(|e| {
            UpstreamError::Unavailable(format!(
                "{operation}: unexpected answer from ElevenLabs: {e}"
            ))
        })
    }
}

#[async_trait]
impl AgentConfigurator for ElevenLabsClient {
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.patch_agent("update agent", agent_id, &patch_body(update), deadline)
            .await
    }

    async fn read_agent(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<AgentSettings, UpstreamError> {
        let model: AgentModel = self.get_agent("read agent", agent_id, deadline).await?;
        let config = model.conversation_config;
        Ok(AgentSettings {
            voice_id: config
                .tts
                .and_then(|tts| tts.voice_id)
                .and_then(|id| VoiceId::parse(id).ok()),
            first_message: config.agent.and_then(|agent| agent.first_message),
        })
    }

    async fn enable_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.patch_agent("enable overrides", agent_id, &enable_body(), deadline)
            .await
    }

    async fn read_override_permissions(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<OverridePermissions, UpstreamError> {
        let model: AgentOverridesModel =
            self.get_agent("read overrides", agent_id, deadline).await?;
        Ok(model.permissions())
    }
}
