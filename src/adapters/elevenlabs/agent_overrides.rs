//! The agent's override permissions as ElevenLabs spells them: the `PATCH` body that turns on
//! exactly the three the service needs, and reading them from `GetAgentResponseModel`.
//!
//! `platform_settings.overrides` (`ConversationInitiationClientDataConfig`) holds
//! `enable_conversation_initiation_client_data_from_webhook` and, under
//! `conversation_config_override`, one boolean per overridable field; all default to `false`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::ports::OverridePermissions;

/// `{"platform_settings":{"overrides":{…}}}` with the three permissions on and nothing else: a
/// partial object leaves the rest of the agent (and its other permissions) as it is.
pub(super) fn enable_body() -> Value {
    json!({
        "platform_settings": {
            "overrides": {
                "enable_conversation_initiation_client_data_from_webhook": true,
                "conversation_config_override": {
                    "tts": {"voice_id": true},
                    "agent": {"first_message": true}
                }
            }
        }
    })
}

/// The parts of `GetAgentResponseModel` that hold the permissions. Every level may be absent
/// or `null`: then the permissions under it are off, as ElevenLabs' defaults are.
#[derive(Deserialize, Default)]
pub(super) struct AgentOverridesModel {
    #[serde(default)]
    platform_settings: Option<PlatformSettings>,
}

#[derive(Deserialize)]
struct PlatformSettings {
    #[serde(default)]
    overrides: Option<Overrides>,
}

#[derive(Deserialize)]
struct Overrides {
    #[serde(default)]
    enable_conversation_initiation_client_data_from_webhook: Option<bool>,
    #[serde(default)]
    conversation_config_override: Option<ConfigOverride>,
}

#[derive(Deserialize)]
struct ConfigOverride {
    #[serde(default)]
    tts: Option<TtsOverride>,
    #[serde(default)]
    agent: Option<AgentOverride>,
}

#[derive(Deserialize)]
struct TtsOverride {
    #[serde(default)]
    voice_id: Option<bool>,
}

#[derive(Deserialize)]
struct AgentOverride {
    #[serde(default)]
    first_message: Option<bool>,
}

impl AgentOverridesModel {
    /// The permissions it says are on; anything unsaid is off.
    pub(super) fn permissions(self) -> OverridePermissions {
        let overrides = self.platform_settings.and_then(|p| p.overrides);
        let initiation_webhook = overrides
            .as_ref()
            .and_then(|o| o.enable_conversation_initiation_client_data_from_webhook)
            .unwrap_or(false);
        let config = overrides.and_then(|o| o.conversation_config_override);
        let (tts, agent) = config.map_or((None, None), |c| (c.tts, c.agent));
        OverridePermissions {
            initiation_webhook,
            voice_id: tts.and_then(|t| t.voice_id).unwrap_or(false),
            first_message: agent.and_then(|a| a.first_message).unwrap_or(false),
        }
    }
}
