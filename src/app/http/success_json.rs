//! The bytes of a handled webhook's answer. [`SuccessJson`] is documented as a
//! [`WebhookSuccess`] and writes exactly the bytes poem-openapi's `Json<WebhookSuccess>` would,
//! but straight from the [`CallOutcome`], borrowed: poem-openapi copies every string into a
//! `WebhookSuccess`, then into a `serde_json::Value` tree (a `BTreeMap` per object), then
//! writes that (README, "At the floor"). [`ErrorJson`](super::error_json::ErrorJson) does the
//! same for the error answers.

use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use serde::Serialize;

use super::json_answer::{documented_as, json_answer};

use super::schema::WebhookSuccess;
use crate::domain::CallOutcome;

/// A handled webhook on the wire: the [`WebhookSuccess`] of a [`CallOutcome`].
pub struct SuccessJson {
    outcome: CallOutcome,
    processing_time_ms: u64,
}

impl SuccessJson {
    /// The answer for `outcome`, handled in `processing_time_ms`.
    pub fn new(outcome: CallOutcome, processing_time_ms: u64) -> Self {
        Self {
            outcome,
            processing_time_ms,
        }
    }
}

/// The wire shape of [`WebhookSuccess`], borrowed. The keys are in the order poem-openapi
/// writes an object's (sorted: its `serde_json` map is a `BTreeMap`), so the bytes do not
/// change; `voice_id` and `voice_name` are `null` when absent, as the schema says.
#[derive(Serialize)]
struct WireSuccess<'a> {
    agent_updated: bool,
    caller_info: WireCallerInfo<'a>,
    conversation_id: &'a str,
    processing_time_ms: u64,
    status: &'static str,
    voice_id: Option<&'a str>,
    voice_name: Option<&'a str>,
    voice_reused: bool,
}

/// The wire shape of `CallerInfoPayload`: absent details are left out.
#[derive(Serialize)]
struct WireCallerInfo<'a> {
    #[serde(rename = "DateOfBirth", skip_serializing_if = "Option::is_none")]
    date_of_birth: Option<&'a str>,
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

documented_as!(SuccessJson, WebhookSuccess);

impl IntoResponse for SuccessJson {
    fn into_response(self) -> Response {
        let outcome = &self.outcome;
        let voice = outcome.voice.as_ref();
        let wire = WireSuccess {
            agent_updated: outcome.agent_updated,
            caller_info: WireCallerInfo {
                date_of_birth: outcome.caller_info.date_of_birth.as_deref(),
                name: outcome.caller_info.name.as_deref(),
            },
            conversation_id: outcome.conversation_id.as_str(),
            processing_time_ms: self.processing_time_ms,
            status: "success",
            voice_id: voice.map(|v| v.voice_id.as_str()),
            voice_name: voice.map(|v| v.voice_name.as_str()),
            voice_reused: outcome.voice_reused,
        };
        json_answer(Self::CONTENT_TYPE, &wire)
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::payload::Json;

    use super::*;
    use crate::app::http::json_answer::assert_same_answer;
    use crate::app::http::schema::CallerInfoPayload;
    use crate::domain::{CallerInfo, ConversationId, NewVoice, VoiceId, VoiceName};

    /// poem-openapi's answer for the same outcome: what the spec's `WebhookSuccess` promises.
    fn poem_openapi_answer(outcome: &CallOutcome, processing_time_ms: u64) -> Response {
        let voice = outcome.voice.as_ref();
        Json(WebhookSuccess {
            status: "success".into(),
            conversation_id: outcome.conversation_id.to_string(),
            voice_id: voice.map(|v| v.voice_id.to_string()),
            voice_name: voice.map(|v| v.voice_name.to_string()),
            voice_reused: outcome.voice_reused,
            agent_updated: outcome.agent_updated,
            caller_info: CallerInfoPayload {
                name: outcome.caller_info.name.clone(),
                date_of_birth: outcome.caller_info.date_of_birth.clone(),
            },
            processing_time_ms,
        })
        .into_response()
    }

    fn outcome(voice: bool, name: Option<&str>, date_of_birth: Option<&str>) -> CallOutcome {
        let voice = voice.then(|| NewVoice {
            voice_id: VoiceId::parse("c38kUX8pkfYO2kHyqfFy").expect("a voice id"),
            voice_name: VoiceName::on_platform("Zoë \"Q\" \\_Clone_20261202_225526"),
        });
        CallOutcome {
            conversation_id: ConversationId::parse("conv_Odd-1").expect("a conversation id"),
            voice,
            voice_reused: name.is_some(),
            agent_updated: date_of_birth.is_some(),
            caller_info: CallerInfo {
                name: name.map(str::to_owned),
                date_of_birth: date_of_birth.map(str::to_owned),
            },
            stored_sample: None,
        }
    }

    #[tokio::test]
    async fn writes_the_bytes_poem_openapi_writes_for_a_webhook_success() {
        let outcomes = [
            outcome(true, Some("Zoë \"Q\" \\ \t \u{1}"), Some("1990-01-31")),
            outcome(true, None, None),
            outcome(false, Some("Ivan"), None),
            outcome(false, None, Some("1990-01-31")),
        ];
        for (outcome, ms) in outcomes.into_iter().zip([0, 7, 1234, u64::MAX]) {
            let expected = poem_openapi_answer(&outcome, ms);
            let answer = SuccessJson::new(outcome.clone(), ms).into_response();
            assert_same_answer(answer, expected, &format!("{outcome:?}")).await;
        }
    }
}
