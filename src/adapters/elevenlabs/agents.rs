//! Agent personalisation: `PATCH /v1/convai/agents/{agent_id}` with only the parts that apply.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::client::{CallError, ElevenLabsClient, Replay};
use crate::domain::AgentId;
use crate::ports::{AgentConfigurator, AgentUpdate, UpstreamError};

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
        self.call("update agent", Replay::Safe, deadline, || {
            self.http().patch(url.clone()).json(&body)
        })
        .await
        .map(|_| ())
        .map_err(CallError::into_upstream)
    }
}
