//! Port: which post-call events were handled already. ElevenLabs retries a post-call webhook
//! with the identical payload (up to 5 times over ~40 minutes), so an event is identified by
//! (`type`, `conversation_id`, `event_timestamp`) and acted on once.

use async_trait::async_trait;

/// The identity of a post-call event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventKey(String);

impl EventKey {
    /// The key of an event of `event_type` for `conversation` sent at `event_timestamp` (as
    /// sent: a number or a string).
    pub fn new(event_type: &str, conversation: &str, event_timestamp: &str) -> Self {
        // Lengths first, so no choice of the parts can make two events share a key.
        Self(format!(
            "{}:{event_type}|{}:{conversation}|{event_timestamp}",
            event_type.len(),
            conversation.len()
        ))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The store of seen events could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("post-call event store unavailable: {0}")]
pub struct EventStoreError(pub String);

/// Remembers handled post-call events for long enough to outlast ElevenLabs' retries.
#[async_trait]
pub trait SeenEvents: Send + Sync + 'static {
    /// Atomically records `key` and says whether this is its first delivery.
    ///
    /// # Errors
    /// [`EventStoreError`] when the store fails.
    async fn first_delivery(&self, key: &EventKey) -> Result<bool, EventStoreError>;
}
