//! The conversation-initiation webhook's variables: its bearer token, the dynamic-variable
//! defaults every answer carries, and `AGENT_UPDATE_MODE`, which decides whether the voice
//! reaches the call through that webhook or through a PATCH of the agent.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::domain::{AgentUpdateMode, BearerToken};

/// The variables the service itself puts in every answer; a default may not shadow them.
pub const OWN_DYNAMIC_VARIABLES: [&str; 2] = ["caller_name", "voice_personalised"];
/// ElevenLabs reserves these names for its own variables.
const RESERVED_PREFIX: &str = "system__";
/// Most defaults accepted; an agent defines a handful.
const MAX_DEFAULTS: usize = 100;

/// The conversation-initiation webhook, from configuration.
#[derive(Debug, Clone)]
pub struct InitiationConfig {
    /// `CONVERSATION_INITIATION_TOKEN`; `None` turns the endpoint off (`404`).
    pub token: Option<BearerToken>,
    /// `INITIATION_DYNAMIC_VARIABLES`: defaults sent with every answer, JSON types kept.
    pub dynamic_variables: Arc<Map<String, Value>>,
}

pub(super) fn bearer_token(v: &str) -> Result<BearerToken, String> {
    BearerToken::new(v.trim()).map_err(|e| e.to_string())
}

pub(super) fn agent_update_mode(v: &str) -> Result<AgentUpdateMode, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "patch" => Ok(AgentUpdateMode::Patch),
        "override" => Ok(AgentUpdateMode::Override),
        _ => Err("expected patch or override".into()),
    }
}

/// A JSON object of names to strings, numbers or booleans (the types ElevenLabs' dynamic
/// variables take), none of them reserved by ElevenLabs or set by the service itself.
pub(super) fn dynamic_variables(v: &str) -> Result<Map<String, Value>, String> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(v) else {
        return Err(r#"expected a JSON object such as {"account_tier":"standard"}"#.into());
    };
    if map.len() > MAX_DEFAULTS {
        return Err(format!("at most {MAX_DEFAULTS} variables"));
    }
    for (name, value) in &map {
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err("a variable name is empty or holds control characters".into());
        }
        if name.starts_with(RESERVED_PREFIX) {
            return Err(format!(
                "{name:?}: names starting {RESERVED_PREFIX} are reserved by ElevenLabs"
            ));
        }
        if OWN_DYNAMIC_VARIABLES.contains(&name.as_str()) {
            return Err(format!("{name:?} is set by the service in every answer"));
        }
        if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return Err(format!(
                "{name:?}: a value must be a string, a number or a boolean"
            ));
        }
    }
    Ok(map)
}
