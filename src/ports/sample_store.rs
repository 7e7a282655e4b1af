//! Port: keeping received voice samples (when the operator turns storage on).

use async_trait::async_trait;

use crate::domain::{ConversationId, VoiceSample};

/// A sample to keep, with the context to file it under.
#[derive(Debug, Clone, Copy)]
pub struct SampleToStore<'a> {
    /// The conversation it came with (for the store's records, never as a file name).
    pub conversation_id: &'a ConversationId,
    /// The validated sample; its format gives the file extension.
    pub sample: &'a VoiceSample,
    /// When it was received, unix seconds.
    pub received_at: i64,
}

/// Where a stored sample ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSample {
    /// The store's key for it (a file name the service made, for the disk store).
    pub key: String,
}

/// Why a sample could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum SampleStoreError {
    /// The backend failed (disk full, read-only, permissions…).
    #[error("sample store unavailable: {0}")]
    Unavailable(#[from] std::io::Error),
}

/// Keeps voice samples.
#[async_trait]
pub trait SampleStore: Send + Sync + 'static {
    /// Stores the sample completely or not at all (no partial file is ever visible).
    ///
    /// # Errors
    /// [`SampleStoreError::Unavailable`] when the backend fails.
    async fn save(&self, sample: SampleToStore<'_>) -> Result<StoredSample, SampleStoreError>;
}
