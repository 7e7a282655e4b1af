//! Port: the voice registry — every clone this service made that is still on the account, who
//! it belongs to, what it served, and where it stands, so that a caller's clone is reused, a
//! clone is released after its call, and the sweep knows ours from orphans.
//!
//! Shaped for a shared store (Redis: one hash per voice, indexes by caller key, conversation and
//! call, a sorted set by last use for eviction; each transition one script): callers hold no
//! references into it, only values; every state change is one atomic operation that says whether
//! it happened.

use async_trait::async_trait;

use crate::domain::{AgentId, CallId, CallerKey, ConversationId, VoiceId, VoiceName};
use crate::ports::AgentSettings;

/// The most conversations, and calls, an entry remembers (the latest). A repeat caller's clone
/// serves call after call; its history must not grow without bound (nor the cost of reading
/// it). A post-call event for a call this far back is found by its override voice instead.
pub const MAX_HISTORY: usize = 32;

/// Where a clone stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceState {
    /// On the account, free to be reused or released.
    Live,
    /// Bound to a call since `since` (unix seconds): kept until its post-call event or
    /// `MAX_CALL_SECONDS` after binding.
    InCall {
        /// The call.
        call: CallId,
        /// When it was bound, unix seconds.
        since: i64,
    },
}

/// A clone on the account, as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceEntry {
    /// The platform's id.
    pub voice_id: VoiceId,
    /// Its name on the platform.
    pub voice_name: VoiceName,
    /// Whose voice it is; `None` when the caller gave no number (then it serves its
    /// conversation alone).
    pub caller_key: Option<CallerKey>,
    /// The caller's name, for greetings when the clone is reused.
    pub caller_name: Option<String>,
    /// The agent it was made for.
    pub agent_id: AgentId,
    /// Conversations it served, oldest first; the latest [`MAX_HISTORY`].
    pub conversations: Vec<ConversationId>,
    /// Calls it was bound to, oldest first; the latest [`MAX_HISTORY`].
    pub calls: Vec<CallId>,
    /// When it was made, unix seconds.
    pub created_at: i64,
    /// When it was last used (made, reused, or bound to a call), unix seconds.
    pub last_used: i64,
    /// Where it stands.
    pub state: VoiceState,
}

impl VoiceEntry {
    /// Whether it is bound to a call right now.
    pub fn in_call(&self) -> bool {
        matches!(self.state, VoiceState::InCall { .. })
    }
}

/// The registry could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("voice registry unavailable: {0}")]
pub struct RegistryError(pub String);

/// The registry of our clones.
#[async_trait]
pub trait VoiceRegistry: Send + Sync + 'static {
    /// Records a new clone (live). An entry with the same voice id is replaced.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn register(&self, entry: VoiceEntry) -> Result<(), RegistryError>;

    /// Atomically finds the clone of `caller_key` last used at or after `used_since` and marks
    /// it used by `conversation_id` at `now`; `None` when there is none.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn reuse(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        conversation_id: &ConversationId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError>;

    /// The clone that served `conversation_id`, if any.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn by_conversation(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Option<VoiceEntry>, RegistryError>;

    /// The clone bound to `call`, if any.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn by_call(&self, call: &CallId) -> Result<Option<VoiceEntry>, RegistryError>;

    /// The entry of `voice_id`, if any.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn by_voice(&self, voice_id: &VoiceId) -> Result<Option<VoiceEntry>, RegistryError>;

    /// Atomically binds the clone of `caller_key` last used at or after `used_since` to `call`
    /// at `now` (state [`VoiceState::InCall`], a use); the same call bound again gets the same
    /// entry. `None` when the caller has no such clone.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn bind_call(
        &self,
        caller_key: &CallerKey,
        used_since: i64,
        call: &CallId,
        now: i64,
    ) -> Result<Option<VoiceEntry>, RegistryError>;

    /// Ends the call of `voice_id`: back to [`VoiceState::Live`]. `false` when it was not in a
    /// call (or is unknown).
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn end_call(&self, voice_id: &VoiceId) -> Result<bool, RegistryError>;

    /// Atomically removes the entry of `voice_id` so its voice can be deleted — unless it is in
    /// a call and `even_in_call` is false. Returns the removed entry; `None` when there was
    /// none, or it is in a call (then nothing changed). Whoever gets the entry deletes the voice.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn take(
        &self,
        voice_id: &VoiceId,
        even_in_call: bool,
    ) -> Result<Option<VoiceEntry>, RegistryError>;

    /// The least recently used clone that is not in a call (the one to evict), if any.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn least_recently_used(&self) -> Result<Option<VoiceEntry>, RegistryError>;

    /// Every entry (the account holds few voices, so this is small).
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn entries(&self) -> Result<Vec<VoiceEntry>, RegistryError>;

    /// How many clones are registered.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn count(&self) -> Result<usize, RegistryError>;

    /// Remembers what `agent_id` had before the service first changed it, unless something is
    /// remembered already (the first reading wins). Returns whether it was stored.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn remember_agent_original(
        &self,
        agent_id: &AgentId,
        original: &AgentSettings,
    ) -> Result<bool, RegistryError>;

    /// What `agent_id` had before the service first changed it, if remembered.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    async fn agent_original(
        &self,
        agent_id: &AgentId,
    ) -> Result<Option<AgentSettings>, RegistryError>;
}
