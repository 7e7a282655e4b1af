//! How a [`VoiceEntry`] is stored: one Redis hash of plain fields, so the registry's Lua
//! scripts can read and change single fields (state, last use) without a codec; only the two
//! lists are JSON arrays (which the scripts append to with `cjson`). Ids are parsed again when
//! read back, so a corrupted hash is an error rather than a malformed entry.

use std::collections::HashMap;

use crate::domain::{AgentId, CallId, CallerKey, ConversationId, VoiceId, VoiceName};
use crate::ports::{VoiceEntry, VoiceState};

/// The entry as the hash's field/value pairs.
pub(super) fn to_fields(entry: &VoiceEntry) -> Result<Vec<(&'static str, String)>, String> {
    let json = |list: Vec<&str>| {
        serde_json::to_string(&list).map_err(|err| format!("cannot encode an entry: {err}"))
    };
    let mut fields = vec![
        ("voice_id", entry.voice_id.as_str().to_owned()),
        ("voice_name", entry.voice_name.as_str().to_owned()),
        ("agent_id", entry.agent_id.as_str().to_owned()),
        (
            "conversations",
            json(entry.conversations.iter().map(|c| c.as_str()).collect())?,
        ),
        (
            "calls",
            json(entry.calls.iter().map(CallId::as_str).collect())?,
        ),
        ("created_at", entry.created_at.to_string()),
        ("last_used", entry.last_used.to_string()),
    ];
    if let Some(key) = &entry.caller_key {
        fields.push(("caller_key", key.as_str().to_owned()));
    }
    if let Some(name) = &entry.caller_name {
        fields.push(("caller_name", name.clone()));
    }
    match &entry.state {
        VoiceState::Live => fields.push(("state", "live".to_owned())),
        VoiceState::InCall { call, since } => {
            fields.push(("state", "in_call".to_owned()));
            fields.push(("call", call.as_str().to_owned()));
            fields.push(("since", since.to_string()));
        }
    }
    Ok(fields)
}

/// An entry from a hash as `HGETALL` answers it (field, value, field, value…).
pub(super) fn from_flat(flat: Vec<String>) -> Result<VoiceEntry, String> {
    let mut pairs = flat.into_iter();
    let mut hash = HashMap::new();
    while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
        hash.insert(name, value);
    }
    let hash = Hash(hash);
    let voice_id = VoiceId::parse(hash.required("voice_id")?).map_err(|e| hash.bad(e))?;
    let state = match hash.required("state")? {
        "live" => VoiceState::Live,
        "in_call" => VoiceState::InCall {
            call: CallId::parse(hash.required("call")?).ok_or_else(|| hash.bad("call"))?,
            since: hash.number("since")?,
        },
        other => return Err(hash.bad(format!("state {other}"))),
    };
    Ok(VoiceEntry {
        voice_name: VoiceName::on_platform(hash.required("voice_name")?),
        caller_key: match hash.optional("caller_key") {
            None => None,
            Some(key) => Some(CallerKey::parse(key).ok_or_else(|| hash.bad("caller_key"))?),
        },
        caller_name: hash.optional("caller_name").map(str::to_owned),
        agent_id: AgentId::parse(hash.required("agent_id")?).map_err(|e| hash.bad(e))?,
        conversations: hash
            .list("conversations")?
            .into_iter()
            .map(|c| ConversationId::parse(c).map_err(|e| hash.bad(e)))
            .collect::<Result<_, _>>()?,
        calls: hash
            .list("calls")?
            .into_iter()
            .map(|c| CallId::parse(c).ok_or_else(|| hash.bad("calls")))
            .collect::<Result<_, _>>()?,
        created_at: hash.number("created_at")?,
        last_used: hash.number("last_used")?,
        state,
        voice_id,
    })
}

struct Hash(HashMap<String, String>);

impl Hash {
    fn optional(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.optional(name)
            .ok_or_else(|| format!("stored entry unreadable: no {name}"))
    }

    fn number(&self, name: &str) -> Result<i64, String> {
        self.required(name)?
            .parse()
            .map_err(|_| self.bad(format!("{name} is not a number")))
    }

    fn list(&self, name: &str) -> Result<Vec<String>, String> {
        serde_json::from_str(self.optional(name).unwrap_or("[]"))
            .map_err(|err| self.bad(format!("{name}: {err}")))
    }

    fn bad(&self, why: impl std::fmt::Display) -> String {
        format!("stored entry unreadable: {why}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallerKeySecret;

    fn flat(fields: Vec<(&'static str, String)>) -> Vec<String> {
        fields
            .into_iter()
            .flat_map(|(name, value)| [name.to_owned(), value])
            .collect()
    }

    #[test]
    fn an_entry_reads_back_as_it_was_written_in_either_state() {
        let mut entry = VoiceEntry {
            voice_id: VoiceId::parse("voice_1").unwrap(),
            voice_name: VoiceName::on_platform("Ivan_Clone_20251210_123456"),
            caller_key: CallerKeySecret::new("test").key_of("+31612345678"),
            caller_name: Some("Ivan é \"quoted\"".into()),
            agent_id: AgentId::parse("agent_1").unwrap(),
            conversations: vec![ConversationId::parse("conv_1").unwrap()],
            calls: vec![CallId::parse("local@host/x\\y").unwrap()],
            created_at: 1_765_370_096,
            last_used: 1_765_370_100,
            state: VoiceState::Live,
        };
        assert_eq!(
            from_flat(flat(to_fields(&entry).unwrap())),
            Ok(entry.clone())
        );
        entry.state = VoiceState::InCall {
            call: CallId::parse("CA1").unwrap(),
            since: 1_765_370_200,
        };
        entry.caller_key = None;
        entry.caller_name = None;
        entry.calls.clear();
        assert_eq!(from_flat(flat(to_fields(&entry).unwrap())), Ok(entry));
    }

    #[test]
    fn a_corrupted_entry_is_an_error() {
        assert!(from_flat(vec!["voice_id".into(), "v1".into()]).is_err());
        assert!(from_flat(vec!["voice_id".into(), "a/b".into()]).is_err());
    }
}
