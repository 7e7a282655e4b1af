//! Responses of `POST /webhook/conversation-initiation`, and the answer's JSON built from the
//! use case's answer and the configured dynamic-variable defaults.

use std::collections::BTreeMap;

use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use serde_json::{Map, Value};

use super::error_examples::{ErrorsOf, INITIATION};
use super::error_json::ErrorJson;
use super::errors::ApiError;
use super::initiation_schema::{
    AgentOverridePayload, ConfigOverridePayload, INITIATION_ANSWER_TYPE, InitiationAnswerPayload,
    TtsOverridePayload,
};
use super::schema::ErrorCode;
use crate::app::service::InitiationRefusal;
use crate::domain::InitiationAnswer;

/// Responses of `POST /webhook/conversation-initiation`.
#[derive(ApiResponse)]
pub enum InitiationResponse {
    /// Always, once authenticated — also for a body that is not JSON, has no `caller_id`, is
    /// over 64 KiB, or when the registry cannot be read: a non-200 can drop the ringing call.
    /// With a live clone for the caller, `conversation_config_override` carries its voice (and
    /// greeting when the name is known); without one, the key is absent.
    #[oai(status = 200)]
    Ok(Json<InitiationAnswerPayload>),
    /// `UNAUTHORIZED`: the `Authorization: Bearer …` header is missing or wrong.
    #[oai(status = 401, actual_type = "ErrorsOf<401, INITIATION>")]
    Unauthorized(ErrorJson),
    /// `NOT_FOUND`: the endpoint is off (`CONVERSATION_INITIATION_TOKEN` is not set).
    #[oai(status = 404, actual_type = "ErrorsOf<404, INITIATION>")]
    NotFound(ErrorJson),
    /// `HEADERS_TOO_LARGE`: refused before the request is routed.
    #[oai(status = 431, actual_type = "ErrorsOf<431>")]
    HeadersTooLarge(ErrorJson),
}

impl From<InitiationRefusal> for InitiationResponse {
    fn from(refusal: InitiationRefusal) -> Self {
        match refusal {
            InitiationRefusal::Disabled => {
                Self::NotFound(ApiError::new(ErrorCode::NotFound, refusal.to_string()).body())
            }
            InitiationRefusal::Unauthorized => Self::Unauthorized(
                ApiError::new(ErrorCode::Unauthorized, refusal.to_string()).body(),
            ),
        }
    }
}

/// The answer's JSON: our two variables, the defaults, and the override only with a clone.
pub fn answer_payload(
    answer: InitiationAnswer,
    defaults: &Map<String, Value>,
) -> InitiationAnswerPayload {
    let mut dynamic_variables: BTreeMap<String, Value> = defaults
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    dynamic_variables.insert(
        "caller_name".into(),
        Value::String(answer.caller_name.unwrap_or_default()),
    );
    dynamic_variables.insert(
        "voice_personalised".into(),
        Value::Bool(answer.voice.is_some()),
    );
    InitiationAnswerPayload {
        kind: INITIATION_ANSWER_TYPE.into(),
        dynamic_variables,
        conversation_config_override: answer.voice.map(|voice| ConfigOverridePayload {
            tts: Some(TtsOverridePayload {
                voice_id: voice.voice_id.to_string(),
            }),
            agent: voice
                .first_message
                .map(|first_message| AgentOverridePayload { first_message }),
        }),
    }
}
