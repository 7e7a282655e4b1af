//! Agent personalisation: `PATCH /v1/convai/agents/{agent_id}` with only the parts that apply,
//! and `GET` of the same agent to read back what it has; the same two calls turn on and read
//! the agent's override permissions (their JSON is in `agent_overrides`).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::{Deserialize, Serialize};

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

/// `{"conversation_config":{"agent":{"first_message":…},"tts":{"voice_id":…}}}`, leaving out
/// what does not change: a partial object leaves the rest of the agent as it is. Written once
/// from borrowed parts (no `serde_json::Value` tree), and sent as is on every attempt.
pub(super) fn patch_body(update: &AgentUpdate) -> Bytes {
    let body = PatchBody {
        conversation_config: PatchConfig {
            agent: update
                .first_message
                .as_deref()
                .map(|first_message| PatchAgentPart { first_message }),
            tts: update.voice_id.as_ref().map(|voice_id| PatchTts {
                voice_id: voice_id.as_str(),
            }),
        },
    };
    // Borrowed strings into a Vec: serializing cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// The wire shape of an agent update; keys in the order `serde_json` sorts them.
#[derive(Serialize)]
struct PatchBody<'a> {
    conversation_config: PatchConfig<'a>,
}

#[derive(Serialize)]
struct PatchConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<PatchAgentPart<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tts: Option<PatchTts<'a>>,
}

#[derive(Serialize)]
struct PatchAgentPart<'a> {
    first_message: &'a str,
}

#[derive(Serialize)]
struct PatchTts<'a> {
    voice_id: &'a str,
}

impl ElevenLabsClient {
    /// `PATCH`es the agent with `body`; it converges, so it is retried as idempotent.
    async fn patch_agent(
        &self,
        operation: &'static str,
        agent_id: &AgentId,
        body: Bytes,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        let url = self.url(&["v1", "convai", "agents", agent_id.as_str()]);
        self.call(
            operation,
            Replay::Idempotent,
            deadline,
            Duration::ZERO,
            || {
                self.http()
                    .patch(url.clone())
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(body.clone())
            },
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
        self.patch_agent("update agent", agent_id, patch_body(update), deadline)
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
        self.patch_agent(
            "enable overrides",
            agent_id,
            Bytes::from(enable_body().to_string()),
            deadline,
        )
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
