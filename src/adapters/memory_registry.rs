//! A [`VoiceRegistry`] in this process's memory: enough for one replica; several replicas need a
//! shared store behind the same port. Every operation takes the one lock once, so each
//! transition is atomic as the port requires.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use foldhash::fast::RandomState;

use crate::domain::{AgentId, CallId, CallerKey, ConversationId, VoiceId};
use crate::ports::{
    AgentSettings, MAX_HISTORY, RegistryError, VoiceEntry, VoiceRegistry, VoiceState,
};

/// The entries and their indexes. A repeat caller's entry accumulates every conversation and
/// call it served, so lookups by conversation or call go through an index instead of scanning
/// those histories (which the conversation-initiation webhook would otherwise do per ring).
/// The maps hash with foldhash rather than SipHash: a webhook makes several lookups here, its
/// keys come from signed requests only, and the per-process random seed keeps their hashes
/// unpredictable.
#[derive(Default)]
struct Book {
    entries: HashMap<VoiceId, VoiceEntry, RandomState>,
    by_conversation: HashMap<ConversationId, VoiceId, RandomState>,
    by_call: HashMap<CallId, VoiceId, RandomState>,
    originals: HashMap<AgentId, AgentSettings, RandomState>,
}

impl Book {
    fn insert(&mut self, entry: VoiceEntry) {
        if let Some(old) = self.entries.remove(&entry.voice_id) {
            self.unindex(&old);
        }
        for conversation in &entry.conversations {
            self.by_conversation
                .insert(conversation.clone(), entry.voice_id.clone());
        }
        for call in &entry.calls {
            self.by_call.insert(call.clone(), entry.voice_id.clone());
        }
        self.entries.insert(entry.voice_id.clone(), entry);
    }

    fn remove(&mut self, voice_id: &VoiceId) -> Option<VoiceEntry> {
        let entry = self.entries.remove(voice_id)?;
        self.unindex(&entry);
        Some(entry)
    }

    /// Drops the index entries that point at `entry` (a newer entry may own a key since).
    fn unindex(&mut self, entry: &VoiceEntry) {
        for conversation in &entry.conversations {
            if self.by_conversation.get(conversation) == Some(&entry.voice_id) {
                self.by_conversation.remove(conversation);
            }
        }
        for call in &entry.calls {
            if self.by_call.get(call) == Some(&entry.voice_id) {
                self.by_call.remove(call);
            }
        }
    }

    fn by_call(&self, call: &CallId) -> Option<&VoiceEntry> {
        self.by_call.get(call).and_then(|v| self.entries.get(v))
    }

    /// The caller's most recently used clone last used at or after `used_since`.
    fn callers_clone(
        &mut self,
        caller_key: &CallerKey,
        used_since: i64,
    ) -> Option<&mut VoiceEntry> {
        self.entries
            .values_mut()
            .filter(|e| e.caller_key.as_ref() == Some(caller_key) && e.last_used >= used_since)
            .max_by_key(|e| (e.last_used, e.created_at))
    }
}

/// Drops the oldest of `history` beyond [`MAX_HISTORY`]; returns what was dropped.
fn trim<T>(history: &mut Vec<T>) -> Vec<T> {
    let excess = history.len().saturating_sub(MAX_HISTORY);
    history.drain(..excess).collect()
}

/// The registry in memory.
#[derive(Default)]
pub struct InMemoryVoiceRegistry {
    book: Mutex<Book>,
}

impl InMemoryVoiceRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        // Every change is a single assignment or insert: a panic cannot leave one half-made.
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl VoiceRegistry for InMemoryVoiceRegistry {
    async fn register(&self, entry: VoiceEntry) -> Result<(), RegistryError> {
        self.lock().insert(entry);
        Ok(())
    }

    async fn reuse(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        conversation_id: &ConversationId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let mut book = self.lock();
        let Some(entry) = book.callers_clone(caller_key, used_since) else {
            return Ok(None);
        };
        let added = !entry.conversations.contains(conversation_id);
        if added {
            entry.conversations.push(conversation_id.clone());
        }
        entry.last_used = entry.last_used.max(now);
        let dropped = trim(&mut entry.conversations);
        let entry = entry.clone();
        for old in dropped {
            if book.by_conversation.get(&old) == Some(&entry.voice_id) {
                book.by_conversation.remove(&old);
            }
        }
        book.by_conversation
            .insert(conversation_id.clone(), entry.voice_id.clone());
        Ok(Some(entry))
    }

    async fn by_conversation(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let book = self.lock();
        Ok(book
            .by_conversation
            .get(conversation_id)
            .and_then(|v| book.entries.get(v))
            .cloned())
    }

    async fn by_call(&self, call: &CallId) -> Result<Option<VoiceEntry>, RegistryError> {
        Ok(self.lock().by_call(call).cloned())
    }

    async fn by_voice(&self, voice_id: &VoiceId) -> Result<Option<VoiceEntry>, RegistryError> {
        Ok(self.lock().entries.get(voice_id).cloned())
    }

    async fn bind_call(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        call: &CallId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let mut book = self.lock();
        if let Some(bound) = book.by_call(call) {
            return Ok(Some(bound.clone()));
        }
        let Some(entry) = book.callers_clone(caller_key, used_since) else {
            return Ok(None);
        };
        entry.calls.push(call.clone());
        entry.last_used = entry.last_used.max(now);
        entry.state = VoiceState::InCall {
            call: call.clone(),
            since: now,
        };
        let dropped = trim(&mut entry.calls);
        let entry = entry.clone();
        for old in dropped {
            if book.by_call.get(&old) == Some(&entry.voice_id) {
                book.by_call.remove(&old);
            }
        }
        book.by_call.insert(call.clone(), entry.voice_id.clone());
        Ok(Some(entry))
    }

    async fn end_call(&self, voice_id: &VoiceId) -> Result<bool, RegistryError> {
        let mut book = self.lock();
        Ok(match book.entries.get_mut(voice_id) {
            Some(entry) if entry.in_call() => {
                entry.state = VoiceState::Live;
                true
            }
            _ => false,
        })
    }

    async fn take(
        &self,
        voice_id: &VoiceId,
        even_in_call: bool,
    ) -> Result<Option<VoiceEntry>, RegistryError> {
        let mut book = self.lock();
        let free = book
            .entries
            .get(voice_id)
            .is_some_and(|e| even_in_call || !e.in_call());
        Ok(if free { book.remove(voice_id) } else { None })
    }

    async fn least_recently_used(&self) -> Result<Option<VoiceEntry>, RegistryError> {
        Ok(self
            .lock()
            .entries
            .values()
            .filter(|e| !e.in_call())
            .min_by_key(|e| (e.last_used, e.created_at))
            .cloned())
    }

    async fn entries(&self) -> Result<Vec<VoiceEntry>, RegistryError> {
        let mut entries: Vec<VoiceEntry> = self.lock().entries.values().cloned().collect();
        entries.sort_by_key(|e| (e.created_at, e.voice_id.clone()));
        Ok(entries)
    }

    async fn count(&self) -> Result<usize, RegistryError> {
        Ok(self.lock().entries.len())
    }

    async fn remember_agent_original(
        &self,
        agent_id: &AgentId,
        original: &AgentSettings,
    ) -> Result<bool, RegistryError> {
        let mut book = self.lock();
        if book.originals.contains_key(agent_id) {
            return Ok(false);
        }
        book.originals.insert(agent_id.clone(), original.clone());
        Ok(true)
    }

    async fn agent_original(
        &self,
        agent_id: &AgentId,
    ) -> Result<Option<AgentSettings>, RegistryError> {
        Ok(self.lock().originals.get(agent_id).cloned())
    }
}
