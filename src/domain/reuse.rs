//! Reuse and registration: a repeat caller gets their existing clone instead of a new one (no
//! clone call, no add/edit spent), and every clone made is recorded in the registry with whose
//! it is, so it can be reused, released after its call, and told apart from orphans.

use super::NewVoice;
use super::personalise::{PersonaliseCall, PreparedCall};
use crate::ports::{VoiceEntry, VoiceState};

impl PersonaliseCall {
    /// The caller's clone, last used within the reuse window, marked used by this conversation;
    /// `None` without a caller key, with reuse off, or when the caller has none. A registry
    /// that cannot be read costs a clone, never the call.
    pub(super) async fn reuse(&self, call: &PreparedCall) -> Option<NewVoice> {
        let caller_key = call.caller_key.as_ref()?;
        let max_age = i64::try_from(self.settings.reuse_max_age.as_secs()).unwrap_or(i64::MAX);
        if max_age == 0 {
            return None;
        }
        let now = self.ports.clock.now_unix();
        match self
            .ports
            .registry
            .reuse(
                caller_key,
                now.saturating_sub(max_age),
                &call.conversation_id,
                now,
            )
            .await
        {
            Ok(Some(entry)) => {
                tracing::info!(voice_id = %entry.voice_id, "reusing the caller's clone; nothing cloned");
                Some(NewVoice {
                    voice_id: entry.voice_id,
                    voice_name: entry.voice_name,
                })
            }
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, "cannot look for the caller's clone; cloning instead");
                None
            }
        }
    }

    /// Records a clone made (or adopted) for this call. A registry that cannot be written
    /// leaves the voice unknown to it: the sweep removes it as an orphan after its grace.
    pub(super) async fn register(&self, call: &PreparedCall, voice: &NewVoice) {
        let now = self.ports.clock.now_unix();
        let entry = VoiceEntry {
            voice_id: voice.voice_id.clone(),
            voice_name: voice.voice_name.clone(),
            caller_key: call.caller_key.clone(),
            caller_name: call.caller.name().map(str::to_owned),
            agent_id: call.agent_id.clone(),
            conversations: vec![call.conversation_id.clone()],
            calls: Vec::new(),
            created_at: now,
            last_used: now,
            state: VoiceState::Live,
        };
        if let Err(error) = self.ports.registry.register(entry).await {
            tracing::error!(voice_id = %voice.voice_id, %error, "cannot record the clone; the sweep will treat it as an orphan");
        }
    }
}
