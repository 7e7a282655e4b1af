//! [`SeenEvents`] in this process's memory: bounded, forgetting events after a retention window
//! that outlasts ElevenLabs' retries (~40 minutes).

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::ports::{EventKey, EventStoreError, SeenEvents};

#[derive(Default)]
struct Seen {
    keys: HashSet<EventKey>,
    /// Oldest first, for expiry and eviction.
    order: VecDeque<(EventKey, Instant)>,
}

/// Remembers at most `capacity` events for `retention`.
pub struct InMemorySeenEvents {
    seen: Mutex<Seen>,
    retention: Duration,
    capacity: usize,
}

impl InMemorySeenEvents {
    /// An empty store.
    pub fn new(retention: Duration, capacity: usize) -> Self {
        Self {
            seen: Mutex::new(Seen::default()),
            retention,
            capacity: capacity.max(1),
        }
    }
}

#[async_trait]
impl SeenEvents for InMemorySeenEvents {
    async fn first_delivery(&self, key: &EventKey) -> Result<bool, EventStoreError> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((oldest, at)) = seen.order.front().cloned() {
            if now.duration_since(at) < self.retention && seen.order.len() < self.capacity {
                break;
            }
            seen.order.pop_front();
            seen.keys.remove(&oldest);
        }
        if !seen.keys.insert(key.clone()) {
            return Ok(false);
        }
        seen.order.push_back((key.clone(), now));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_event_is_first_once_and_forgotten_after_the_retention() {
        let seen = InMemorySeenEvents::new(Duration::from_secs(3600), 100);
        let key = EventKey::new("post_call_transcription", "conv_1", "1700000000");
        assert_eq!(seen.first_delivery(&key).await, Ok(true));
        assert_eq!(seen.first_delivery(&key).await, Ok(false));
        let later = EventKey::new("post_call_transcription", "conv_1", "1700000001");
        assert_eq!(
            seen.first_delivery(&later).await,
            Ok(true),
            "another timestamp, another event"
        );
        tokio::time::advance(Duration::from_secs(3601)).await;
        assert_eq!(seen.first_delivery(&key).await, Ok(true));
    }

    #[tokio::test(start_paused = true)]
    async fn stays_within_its_capacity() {
        let seen = InMemorySeenEvents::new(Duration::from_secs(3600), 2);
        for n in 0..5 {
            let key = EventKey::new("t", &format!("c{n}"), "1");
            assert_eq!(seen.first_delivery(&key).await, Ok(true));
        }
        let newest = EventKey::new("t", "c4", "1");
        assert_eq!(seen.first_delivery(&newest).await, Ok(false));
    }

    #[test]
    fn keys_cannot_be_forged_by_moving_separators() {
        assert_ne!(
            EventKey::new("a|b", "c", "1"),
            EventKey::new("a", "b|c", "1")
        );
    }
}
