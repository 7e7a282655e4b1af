//! Agent personalisation: `PATCH /v1/convai/agents/{agent_id}` with only the parts that apply,
//! and `GET` of the same agent to read back what it has.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{CallError, ElevenLabsClient, Replay};
use crate::domain::{AgentId, VoiceId};
use crate::ports::{AgentConfigurator, AgentSettings, AgentUpdate, UpstreamError};

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

#[async_trait]
impl AgentConfigurator for ElevenLabsClient {
    async fn update_agent(
        &self,
        agent_id: &AgentId,
        update: &AgentUpdate,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "convai", "agents", agent_id.as_str()]);
        let body = patch_body(update);
        self.call(
            "update agent",
            Replay::Idempotent,
            deadline,
            Duration::ZERO,
            || self.http().patch(url.clone()).json(&body),
        )
        .await
        .map(|_| ())
        .map_err(CallError::into_upstream)
    }

    async fn read_agent(
        &self,
        agent_id: &AgentId,
        deadline: Instant,
    ) -> Result<AgentSettings, UpstreamError> {
        let url = self.url(&["v1", "convai", "agents", agent_id.as_str()]);
        let body = self
            .call("read agent", Replay::Safe, deadline, Duration::ZERO, || {
                self.http().get(url.clone())
            })
            .await
            .map_err(CallError::into_upstream)?;
        let model: AgentModel = serde_json::from_slice(&body).map_err(|e| {
            UpstreamError::Unavailable(format!(
                "read agent: unexpected answer from ElevenLabs: {e}"
            ))
        })?;
        let config = model.conversation_config;
        Ok(AgentSettings {
            voice_id: config
                .tts
                .and_then(|tts| tts.voice_id)
                .and_then(|id| VoiceId::parse(id).ok()),
            first_message: config.agent.and_then(|agent| agent.first_message),
        })
    }
}
