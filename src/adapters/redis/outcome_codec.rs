//! How a [`CallOutcome`] is stored in the ledger: JSON through a mirror struct of our own, so the
//! domain stays free of any codec and the stored shape changes only when this file does (a
//! replica running the next version must still read what this one wrote, within the retention).

use serde::{Deserialize, Serialize};

use crate::domain::{CallOutcome, CallerInfo, ConversationId, NewVoice, VoiceId, VoiceName};
use crate::ports::StoredSample;

/// A [`CallOutcome`] as stored. It holds what the webhook's answer echoes back (the caller's
/// name and date of birth), as the in-memory ledger does; never the phone number.
#[derive(Serialize, Deserialize)]
struct StoredOutcome {
    conversation_id: String,
    voice: Option<StoredVoice>,
    voice_reused: bool,
    agent_updated: bool,
    caller_name: Option<String>,
    caller_date_of_birth: Option<String>,
    stored_sample: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredVoice {
    voice_id: String,
    voice_name: String,
}

/// The outcome as JSON.
pub(super) fn encode(outcome: &CallOutcome) -> Result<String, String> {
    let stored = StoredOutcome {
        conversation_id: outcome.conversation_id.as_str().to_owned(),
        voice: outcome.voice.as_ref().map(|voice| StoredVoice {
            voice_id: voice.voice_id.as_str().to_owned(),
            voice_name: voice.voice_name.as_str().to_owned(),
        }),
        voice_reused: outcome.voice_reused,
        agent_updated: outcome.agent_updated,
        caller_name: outcome.caller_info.name.clone(),
        caller_date_of_birth: outcome.caller_info.date_of_birth.clone(),
        stored_sample: outcome.stored_sample.as_ref().map(|s| s.key.clone()),
    };
    serde_json::to_string(&stored).map_err(|err| format!("cannot encode an outcome: {err}"))
}

/// An outcome read back; the ids are parsed again, so a corrupted entry is an error, not a
/// malformed answer.
pub(super) fn decode(json: &str) -> Result<CallOutcome, String> {
    let unreadable = |why: String| format!("stored outcome unreadable: {why}");
    let stored: StoredOutcome =
        serde_json::from_str(json).map_err(|err| unreadable(err.to_string()))?;
    let voice = match stored.voice {
        None => None,
        Some(voice) => Some(NewVoice {
            voice_id: VoiceId::parse(voice.voice_id).map_err(|err| unreadable(err.to_string()))?,
            voice_name: VoiceName::on_platform(voice.voice_name),
        }),
    };
    Ok(CallOutcome {
        conversation_id: ConversationId::parse(stored.conversation_id)
            .map_err(|err| unreadable(err.to_string()))?,
        voice,
        voice_reused: stored.voice_reused,
        agent_updated: stored.agent_updated,
        caller_info: CallerInfo {
            name: stored.caller_name,
            date_of_birth: stored.caller_date_of_birth,
        },
        stored_sample: stored.stored_sample.map(|key| StoredSample { key }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_reads_back_as_it_was_written() {
        let outcome = CallOutcome {
            conversation_id: ConversationId::parse("conv_1").unwrap(),
            voice: Some(NewVoice {
                voice_id: VoiceId::parse("voice_1").unwrap(),
                voice_name: VoiceName::on_platform("Ivan_Clone_20251210_123456"),
            }),
            voice_reused: true,
            agent_updated: false,
            caller_info: CallerInfo {
                name: Some("Ivan \"the\" Caller é".into()),
                date_of_birth: None,
            },
            stored_sample: Some(StoredSample {
                key: "sample.wav".into(),
            }),
        };
        let json = encode(&outcome).unwrap();
        assert_eq!(decode(&json).unwrap(), outcome);
    }

    #[test]
    fn a_corrupted_outcome_is_an_error() {
        assert!(decode("{").is_err());
        let bad_id = r#"{"conversation_id":"a/b","voice":null,"voice_reused":false,
            "agent_updated":false,"caller_name":null,"caller_date_of_birth":null,"stored_sample":null}"#;
        assert!(decode(bad_id).is_err());
    }
}
