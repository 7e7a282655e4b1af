//! The [`VoiceRegistry`] in Redis, shared by every replica: a clone registered by one replica is
//! reused, bound and released by any other.
//!
//! One hash per clone, indexes by caller key, conversation and call, and a sorted set by last use
//! (the layout is described at the top of `lua/registry_common.lua`). Every transition — register,
//! reuse, bind, end, take — is one Lua script, so two replicas can never both reuse-and-evict or
//! both take one clone. Only caller keys (HMACs) are stored, never a phone number. The agents'
//! original settings are one JSON string per agent, written with `SET NX` (the first reading
//! wins).

use ::redis::{Script, Value};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::connection::{RedisStore, describe};
use super::entry_codec;
use crate::domain::{AgentId, CallId, CallerKey, ConversationId, VoiceId};
use crate::ports::{AgentSettings, RegistryError, VoiceEntry, VoiceRegistry};

macro_rules! registry_script {
    ($file:literal) => {
        Script::new(concat!(
            include_str!("lua/registry_common.lua"),
            include_str!(concat!("lua/", $file))
        ))
    };
}

/// The registry's scripts, hashed once (`EVALSHA`, loaded again after a Redis restart).
struct Scripts {
    register: Script,
    reuse: Script,
    bind_call: Script,
    end_call: Script,
    take: Script,
    find: Script,
    least_recently_used: Script,
    entries: Script,
}

/// The voice registry in Redis.
pub struct RedisVoiceRegistry {
    store: RedisStore,
    scripts: Scripts,
}

/// What an agent had before the service changed it, as stored.
#[derive(Serialize, Deserialize)]
struct StoredAgentSettings {
    voice_id: Option<String>,
    first_message: Option<String>,
}

fn failed(err: &::redis::RedisError) -> RegistryError {
    RegistryError(describe(err))
}

fn entry(flat: Option<Vec<String>>) -> Result<Option<VoiceEntry>, RegistryError> {
    flat.map(entry_codec::from_flat)
        .transpose()
        .map_err(RegistryError)
}

impl RedisVoiceRegistry {
    /// The registry of `store`; see [`RedisStore::voice_registry`].
    pub(super) fn new(store: &RedisStore) -> Self {
        Self {
            store: store.clone(),
            scripts: Scripts {
                register: registry_script!("registry_register.lua"),
                reuse: registry_script!("registry_reuse.lua"),
                bind_call: registry_script!("registry_bind_call.lua"),
                end_call: registry_script!("registry_end_call.lua"),
                take: registry_script!("registry_take.lua"),
                find: registry_script!("registry_find.lua"),
                least_recently_used: registry_script!("registry_least_recently_used.lua"),
                entries: registry_script!("registry_entries.lua"),
            },
        }
    }

    /// Runs `script` with the prefix as `ARGV[1]`, then `args`.
    async fn run<T: ::redis::FromRedisValue>(
        &self,
        script: &Script,
        args: &[&str],
    ) -> Result<T, RegistryError> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(self.store.prefix());
        for arg in args {
            invocation.arg(*arg);
        }
        invocation
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|err| failed(&err))
    }

    fn agent_key(&self, agent_id: &AgentId) -> String {
        self.store.key(&format!("agent:{agent_id}"))
    }
}

#[async_trait]
impl VoiceRegistry for RedisVoiceRegistry {
    async fn register(&self, entry: VoiceEntry) -> Result<(), RegistryError> {
        let fields = entry_codec::to_fields(&entry).map_err(RegistryError)?;
        let mut args = vec![entry.voice_id.as_str()];
        for (name, value) in &fields {
            args.push(name);
            args.push(value);
        }
        self.run::<i64>(&self.scripts.register, &args).await?;
        Ok(())
    }

    async fn reuse(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        conversation_id: &ConversationId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let (used_since, now) = (used_since.to_string(), now.to_string());
        let args = [
            caller_key.as_str(),
            &used_since,
            conversation_id.as_str(),
            &now,
        ];
        entry(self.run(&self.scripts.reuse, &args).await?)
    }

    async fn by_conversation(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let index = format!("conversation:{conversation_id}");
        entry(self.run(&self.scripts.find, &[&index]).await?)
    }

    async fn by_call(&self, call: &CallId) -> Result<Option<VoiceEntry>, RegistryError> {
        let index = format!("call:{call}");
        entry(self.run(&self.scripts.find, &[&index]).await?)
    }

    async fn by_voice(&self, voice_id: &VoiceId) -> Result<Option<VoiceEntry>, RegistryError> {
        let flat: Vec<String> = ::redis::cmd("HGETALL")
            .arg(self.store.key(&format!("voice:{voice_id}")))
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| failed(&err))?;
        entry((!flat.is_empty()).then_some(flat))
    }

    async fn bind_call(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        call: &CallId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let (used_since, now) = (used_since.to_string(), now.to_string());
        let args = [caller_key.as_str(), &used_since, call.as_str(), &now];
        entry(self.run(&self.scripts.bind_call, &args).await?)
    }

    async fn end_call(&self, voice_id: &VoiceId) -> Result<bool, RegistryError> {
        let ended: i64 = self
            .run(&self.scripts.end_call, &[voice_id.as_str()])
            .await?;
        Ok(ended == 1)
    }

    async fn take(
        &self,
        voice_id: &VoiceId,
        even_in_call: bool,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let even_in_call = if even_in_call { "1" } else { "0" };
        let args = [voice_id.as_str(), even_in_call];
        entry(self.run(&self.scripts.take, &args).await?)
    }

    async fn least_recently_used(&self) -> Result<Option<VoiceEntry>, RegistryError> {
        entry(self.run(&self.scripts.least_recently_used, &[]).await?)
    }

    async fn entries(&self) -> Result<Vec<VoiceEntry>, RegistryError> {
        let flats: Vec<Vec<String>> = self.run(&self.scripts.entries, &[]).await?;
        let mut entries = flats
            .into_iter()
            .map(entry_codec::from_flat)
            .collect::<Result<Vec<_>, _>>()
            .map_err(RegistryError)?;
        entries.sort_by(|a, b| (a.created_at, &a.voice_id).cmp(&(b.created_at, &b.voice_id)));
        Ok(entries)
    }

    async fn count(&self) -> Result<usize, RegistryError> {
        ::redis::cmd("ZCARD")
            .arg(self.store.key("voices"))
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| failed(&err))
    }

    async fn remember_agent_original(
        &self,
        agent_id: &AgentId,
        original: &AgentSettings,
    ) -> Result<bool, RegistryError> {
        let stored = StoredAgentSettings {
            voice_id: original.voice_id.as_ref().map(|v| v.as_str().to_owned()),
            first_message: original.first_message.clone(),
        };
        let json = serde_json::to_string(&stored)
            .map_err(|err| RegistryError(format!("cannot encode agent settings: {err}")))?;
        let answer: Value = ::redis::cmd("SET")
            .arg(self.agent_key(agent_id))
            .arg(json)
            .arg("NX")
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| failed(&err))?;
        Ok(answer != Value::Nil)
    }

    async fn agent_original(
        &self,
        agent_id: &AgentId,
    ) -> Result<Option<AgentSettings>, RegistryError> {
        let json: Option<String> = ::redis::cmd("GET")
            .arg(self.agent_key(agent_id))
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| failed(&err))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let unreadable = |why: String| RegistryError(format!("stored agent unreadable: {why}"));
        let stored: StoredAgentSettings =
            serde_json::from_str(&json).map_err(|err| unreadable(err.to_string()))?;
        Ok(Some(AgentSettings {
            voice_id: stored
                .voice_id
                .map(VoiceId::parse)
                .transpose()
                .map_err(|err| unreadable(err.to_string()))?,
            first_message: stored.first_message,
        }))
    }
}
