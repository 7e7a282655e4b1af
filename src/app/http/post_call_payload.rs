//! Reading a post-call webhook's JSON, borrowing from the raw, signature-checked body: only the
//! envelope and the few fields that say which call ended are read; the rest (transcripts,
//! traces, base64 audio of many megabytes) is skipped without being copied.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::domain::{CallEnded, CallId, ConversationId, VoiceId};

/// A post-call event as far as this service reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostCallPayload {
    /// `type`, as sent.
    pub event_type: String,
    /// `event_timestamp` as text (`""` when absent), for the event's identity.
    pub event_timestamp: String,
    /// `data.conversation_id` as sent (`""` when absent), for the event's identity.
    pub conversation: String,
    /// Which clone served the call.
    pub ended: CallEnded,
}

/// Why a post-call body was refused; `Display` is the sentence the sender sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostCallPayloadError {
    /// Not JSON, or not the envelope.
    #[error("Body is not a post-call event: {0}")]
    NotAnEvent(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    #[serde(default)]
    event_timestamp: Option<Value>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize, Default)]
struct Data {
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    conversation_initiation_client_data: Option<ClientData>,
    /// Named only so that it is skipped, not buffered.
    #[serde(default)]
    #[allow(dead_code)]
    full_audio: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    phone_call: Option<CallIds>,
    /// A failure's raw body: SIP's `call_sid`, or Twilio's status callback (`CallSid`).
    #[serde(default)]
    body: Option<CallIds>,
}

#[derive(Deserialize, Default)]
struct CallIds {
    #[serde(default)]
    call_sid: Option<Value>,
    #[serde(default)]
    call_id: Option<Value>,
    #[serde(default, rename = "CallSid")]
    twilio_call_sid: Option<Value>,
}

#[derive(Deserialize, Default)]
struct ClientData {
    #[serde(default)]
    conversation_config_override: Option<Override>,
}

#[derive(Deserialize, Default)]
struct Override {
    #[serde(default)]
    tts: Option<Tts>,
}

#[derive(Deserialize, Default)]
struct Tts {
    #[serde(default)]
    voice_id: Option<Value>,
}

fn text(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str)
}

impl CallIds {
    /// Every valid id: a SIP call has both a `call_sid` and the `call_id` its conversation
    /// initiation was bound with.
    fn call_ids(&self) -> impl Iterator<Item = CallId> + '_ {
        [&self.call_sid, &self.call_id, &self.twilio_call_sid]
            .into_iter()
            .filter_map(|v| text(v.as_ref()).and_then(CallId::parse))
    }
}

/// Reads the post-call event in `body`.
///
/// # Errors
/// [`PostCallPayloadError`] when the body is not JSON or has no string `type`.
pub fn parse(body: &[u8]) -> Result<PostCallPayload, PostCallPayloadError> {
    let envelope: Envelope<'_> = serde_json::from_slice(body)
        .map_err(|e| PostCallPayloadError::NotAnEvent(e.to_string()))?;
    let event_timestamp = match envelope.event_timestamp {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let data = envelope.data.unwrap_or_default();
    let conversation = data.conversation_id.unwrap_or_default();
    let metadata = data.metadata.unwrap_or_default();
    let mut call_ids: Vec<CallId> = Vec::new();
    for id in [metadata.phone_call, metadata.body]
        .iter()
        .flatten()
        .flat_map(CallIds::call_ids)
    {
        if !call_ids.contains(&id) {
            call_ids.push(id);
        }
    }
    let override_voice_id = data
        .conversation_initiation_client_data
        .and_then(|c| c.conversation_config_override)
        .and_then(|o| o.tts)
        .and_then(|t| text(t.voice_id.as_ref()).and_then(|s| VoiceId::parse(s).ok()));
    Ok(PostCallPayload {
        event_type: envelope.event_type.into_owned(),
        event_timestamp,
        ended: CallEnded {
            conversation_id: ConversationId::parse(conversation.as_str()).ok(),
            call_ids,
            override_voice_id,
        },
        conversation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_twilio_transcription_with_its_call_and_override() {
        let body = json!({
            "type": "post_call_transcription",
            "event_timestamp": 1_796_161_275,
            "data": {
                "conversation_id": "conv_01",
                "transcript": [{"role": "agent", "message": "Hallo"}],
                "metadata": {"phone_call": {"type": "twilio", "call_sid": "CA5b2f"}},
                "conversation_initiation_client_data": {
                    "conversation_config_override": {"tts": {"voice_id": "c38kUX8pkfYO2kHyqfFy"}}
                }
            }
        });
        let parsed = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.event_type, "post_call_transcription");
        assert_eq!(parsed.event_timestamp, "1796161275");
        assert_eq!(parsed.conversation, "conv_01");
        assert_eq!(parsed.ended.conversation_id.unwrap().as_str(), "conv_01");
        assert_eq!(parsed.ended.call_ids[0].as_str(), "CA5b2f");
        assert_eq!(
            parsed.ended.override_voice_id.unwrap().as_str(),
            "c38kUX8pkfYO2kHyqfFy"
        );
    }

    #[test]
    fn reads_failures_with_sip_and_twilio_bodies_and_string_timestamps() {
        let sip = json!({"type": "call_initiation_failure", "event_timestamp": "1796161275",
            "data": {"conversation_id": "conv_02", "failure_reason": "busy",
                     "metadata": {"type": "sip", "body": {"call_sid": "a84b4c76@pbx.example"}}}});
        let parsed = parse(sip.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.event_timestamp, "1796161275");
        assert_eq!(parsed.ended.call_ids[0].as_str(), "a84b4c76@pbx.example");
        let twilio = json!({"type": "call_initiation_failure", "event_timestamp": 1,
            "data": {"conversation_id": "conv_03",
                     "metadata": {"type": "twilio", "body": {"CallSid": "CA77", "CallStatus": "busy"}}}});
        let parsed = parse(twilio.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.ended.call_ids[0].as_str(), "CA77");
    }

    #[test]
    fn a_sip_transcription_carries_both_its_call_sid_and_the_call_id_it_was_initiated_with() {
        let body = include_bytes!("../../../tests/fixtures/post_call/transcription_sip.json");
        let parsed = parse(body).unwrap();
        let ids: Vec<&str> = parsed.ended.call_ids.iter().map(CallId::as_str).collect();
        assert_eq!(
            ids,
            [
                "sip_9a8b7c6d5e4f",
                "3c5e2b7a-9f41-4d0e-8c1a-6b2d9e0f7a51@sip.example.net"
            ]
        );
    }

    #[test]
    fn an_audio_event_is_read_without_its_audio_and_junk_is_refused() {
        let audio = format!(
            r#"{{"type":"post_call_audio","event_timestamp":5,"data":{{"conversation_id":"c","full_audio":"{}"}}}}"#,
            "QUFB".repeat(10_000)
        );
        assert_eq!(
            parse(audio.as_bytes()).unwrap().event_type,
            "post_call_audio"
        );
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"data":{}}"#).is_err(), "no type");
        assert!(parse(br#"{"type":7}"#).is_err(), "type is not a string");
    }
}
