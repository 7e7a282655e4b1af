//! [`SeenEvents`] in Redis, shared by every replica: ElevenLabs' retry of a post-call event is a
//! duplicate whichever replica it reaches.
//!
//! One key per event, written with `SET NX PX`: the write says whether it is the first delivery,
//! atomically, and Redis forgets the event after the retention by itself. The key holds a SHA-256
//! of the event's identity rather than the identity itself, so a long `conversation_id` or
//! `event_timestamp` from a sender cannot make long keys.

use std::time::Duration;

use ::redis::Value;
use async_trait::async_trait;
use sha2::{Digest, Sha256};

use super::connection::{RedisStore, describe, millis};
use crate::ports::{EventKey, EventStoreError, SeenEvents};

/// Post-call events seen, in Redis.
pub struct RedisSeenEvents {
    store: RedisStore,
    retention: Duration,
}

impl RedisSeenEvents {
    /// The store of `store`; see [`RedisStore::seen_events`].
    pub(super) fn new(store: &RedisStore, retention: Duration) -> Self {
        Self {
            store: store.clone(),
            retention,
        }
    }
}

#[async_trait]
impl SeenEvents for RedisSeenEvents {
    async fn first_delivery(&self, key: &EventKey) -> Result<bool, EventStoreError> {
        let digest = hex::encode(Sha256::digest(key.as_str().as_bytes()));
        let answer: Value = ::redis::cmd("SET")
            .arg(self.store.key(&format!("event:{digest}")))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(self.retention))
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| EventStoreError(describe(&err)))?;
        Ok(answer != Value::Nil)
    }
}
