//! The account's conversational agents: the stored `GetAgentResponseModel` JSON, the deep merge
//! `PATCH /v1/convai/agents/{id}` applies, and every PATCH body in order, so tests can assert
//! which voices an agent ever pointed at.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::account::Refusal;

/// The top-level fields of `Body_Patches_an_Agent_settings…`; others are ignored, as the real
/// API ignores unknown fields.
const PATCHABLE: &[&str] = &[
    "conversation_config",
    "platform_settings",
    "workflow",
    "name",
    "tags",
];

#[derive(Debug)]
struct Agent {
    /// What `GET` returns.
    config: Value,
    /// The voice it had when the test created it.
    initial_voice_id: String,
    /// Every accepted PATCH body, as received.
    patches: Vec<Value>,
}

/// The agents, by id.
#[derive(Debug, Default)]
pub(super) struct Agents {
    agents: BTreeMap<String, Agent>,
}

impl Agents {
    /// Creates (or replaces) an agent speaking with `voice_id` and greeting with
    /// `first_message`, its override permissions off (ElevenLabs' defaults).
    pub(super) fn add(&mut self, agent_id: &str, voice_id: &str, first_message: &str, now: i64) {
        let config = json!({
            "agent_id": agent_id,
            "name": format!("Fake agent {agent_id}"),
            "conversation_config": {
                "tts": {"model_id": "eleven_turbo_v2", "voice_id": voice_id},
                "agent": {
                    "first_message": first_message,
                    "language": "en",
                    "prompt": {"prompt": "You are a helpful assistant."}
                }
            },
            "metadata": {"created_at_unix_secs": now},
            "platform_settings": {
                "overrides": {
                    "enable_conversation_initiation_client_data_from_webhook": false,
                    "conversation_config_override": {
                        "agent": {"first_message": false, "language": false},
                        "tts": {"voice_id": false}
                    }
                }
            },
            "phone_numbers": [],
            "tags": []
        });
        self.agents.insert(
            agent_id.to_owned(),
            Agent {
                config,
                initial_voice_id: voice_id.to_owned(),
                patches: Vec::new(),
            },
        );
    }

    pub(super) fn get(&self, agent_id: &str) -> Result<&Value, Refusal> {
        self.agents
            .get(agent_id)
            .map(|a| &a.config)
            .ok_or_else(|| not_found(agent_id))
    }

    /// Deep-merges `body` into the agent (objects recursively, anything else replaced; a
    /// top-level `null` leaves the field alone) and records it as received. The part of `body`
    /// at the JSON pointer `dropped`, if any, is not merged: a silently dropped setting.
    pub(super) fn patch(
        &mut self,
        agent_id: &str,
        body: Value,
        dropped: Option<&str>,
    ) -> Result<&Value, Refusal> {
        let agent = self
            .agents
            .get_mut(agent_id)
            .ok_or_else(|| not_found(agent_id))?;
        let Value::Object(fields) = &body else {
            return Err(Refusal::invalid(
                json!(["body"]),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            ));
        };
        for key in ["conversation_config", "platform_settings"] {
            if fields
                .get(key)
                .is_some_and(|v| !v.is_object() && !v.is_null())
            {
                return Err(Refusal::invalid(
                    json!(["body", key]),
                    "Input should be a valid dictionary",
                    "dict_type",
                ));
            }
        }
        let patch: Map<String, Value> = fields
            .iter()
            .filter(|(k, v)| PATCHABLE.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut patch = Value::Object(patch);
        if let Some(pointer) = dropped {
            remove_at(&mut patch, pointer);
        }
        merge(&mut agent.config, &patch);
        agent.patches.push(body);
        Ok(&agent.config)
    }

    pub(super) fn patches(&self, agent_id: &str) -> Vec<Value> {
        self.agents
            .get(agent_id)
            .map(|a| a.patches.clone())
            .unwrap_or_default()
    }

    /// The voice it was created with, then each `conversation_config.tts.voice_id` a PATCH set,
    /// in order.
    pub(super) fn voices_ever(&self, agent_id: &str) -> Vec<String> {
        let Some(agent) = self.agents.get(agent_id) else {
            return Vec::new();
        };
        std::iter::once(agent.initial_voice_id.clone())
            .chain(agent.patches.iter().filter_map(|p| {
                p.pointer("/conversation_config/tts/voice_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }))
            .collect()
    }
}

fn not_found(agent_id: &str) -> Refusal {
    Refusal::business(
        404,
        "agent_not_found",
        format!("Agent with id {agent_id} was not found."),
    )
}

/// Removes the value at the JSON pointer `pointer` from `value`, if there is one.
fn remove_at(value: &mut Value, pointer: &str) {
    let Some((parent, key)) = pointer.rsplit_once('/') else {
        return;
    };
    if let Some(Value::Object(parent)) = value.pointer_mut(parent) {
        parent.remove(&key.replace("~1", "/").replace("~0", "~"));
    }
}

/// Merges `patch` into `target`: objects key by key, recursively; any other value replaces.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value);
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}
