//! The wire shapes of `POST /webhook/conversation-initiation` (ElevenLabs' own "client data"
//! webhook), as integrators see them in the OpenAPI spec. The request is parsed leniently by
//! `initiation_payload`; the answer is written from these types.

use std::collections::BTreeMap;

use poem_openapi::Object;
use poem_openapi::types::Example;

/// What ElevenLabs sends when a call to the agent rings (inbound Twilio or SIP). Every field
/// is optional to this service: whatever is missing or malformed, the answer is a `200`.
#[derive(Debug, Object)]
#[oai(example)]
pub struct InitiationRequestPayload {
    /// The caller's number. Its caller key finds the caller's clone; the number itself is
    /// never stored or logged.
    #[oai(skip_serializing_if_is_none)]
    pub caller_id: Option<String>,
    /// The agent that takes the call.
    #[oai(skip_serializing_if_is_none)]
    pub agent_id: Option<String>,
    /// The number that was called.
    #[oai(skip_serializing_if_is_none)]
    pub called_number: Option<String>,
    /// Twilio's call SID: the clone is bound to it until the call's post-call event.
    #[oai(skip_serializing_if_is_none)]
    pub call_sid: Option<String>,
    /// The SIP call id, when there is no `call_sid`.
    #[oai(skip_serializing_if_is_none)]
    pub call_id: Option<String>,
}

impl Example for InitiationRequestPayload {
    fn example() -> Self {
        Self {
            caller_id: Some("+31612345678".into()),
            agent_id: Some("agent_7101k0example".into()),
            called_number: Some("+31201234567".into()),
            call_sid: Some("CA5b2f0e1c9d8a7b6c5d4e3f2a1b0c9d8e".into()),
            call_id: None,
        }
    }
}

/// The answer ElevenLabs applies to this one call.
#[derive(Debug, Object)]
#[oai(example)]
pub struct InitiationAnswerPayload {
    /// Always `conversation_initiation_client_data` (without it ElevenLabs fails the call).
    #[oai(rename = "type")]
    pub kind: String,
    /// Always `caller_name` (`""` when unknown) and `voice_personalised`, plus every default
    /// of `INITIATION_DYNAMIC_VARIABLES` with its JSON type (string, number or boolean).
    pub dynamic_variables: BTreeMap<String, serde_json::Value>,
    /// Only when the caller has a live clone: its voice and, when the caller's name is known,
    /// the greeting. Absent otherwise — never `null`.
    #[oai(skip_serializing_if_is_none)]
    pub conversation_config_override: Option<ConfigOverridePayload>,
}

impl Example for InitiationAnswerPayload {
    fn example() -> Self {
        Self {
            kind: INITIATION_ANSWER_TYPE.into(),
            dynamic_variables: BTreeMap::from([
                ("account_tier".into(), "standard".into()),
                ("caller_name".into(), "Ivan".into()),
                ("voice_personalised".into(), true.into()),
            ]),
            conversation_config_override: Some(ConfigOverridePayload {
                tts: Some(TtsOverridePayload {
                    voice_id: "c38kUX8pkfYO2kHyqfFy".into(),
                }),
                agent: Some(AgentOverridePayload {
                    first_message: "Hallo Ivan, fijn dat je belt!".into(),
                }),
            }),
        }
    }
}

/// The value of `type` in every answer.
pub const INITIATION_ANSWER_TYPE: &str = "conversation_initiation_client_data";

/// The parts of the agent's configuration this call overrides: nothing beyond what
/// `agent enable-overrides` allows (an override the agent does not allow fails the call).
#[derive(Debug, Object)]
pub struct ConfigOverridePayload {
    /// The voice.
    #[oai(skip_serializing_if_is_none)]
    pub tts: Option<TtsOverridePayload>,
    /// The greeting; absent when the caller's name is not known.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<AgentOverridePayload>,
}

/// The voice of this call.
#[derive(Debug, Object)]
pub struct TtsOverridePayload {
    /// The caller's clone.
    pub voice_id: String,
}

/// The greeting of this call.
#[derive(Debug, Object)]
pub struct AgentOverridePayload {
    /// `DEFAULT_FIRST_MESSAGE` with the caller's name.
    pub first_message: String,
}
