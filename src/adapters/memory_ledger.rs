//! A [`DeliveryLedger`] in this process's memory: bounded, with a retention window. Enough for
//! one replica; several replicas need a shared store behind the same port.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::{CallOutcome, ConversationId, Fingerprint};
use crate::ports::{Claim, DeliveryLedger, LedgerError};

enum State {
    InFlight { lease_until: Instant },
    Completed { outcome: CallOutcome, at: Instant },
}

struct Entry {
    fingerprint: Fingerprint,
    state: State,
    /// Wakes identical deliveries waiting for this one.
    settled: Arc<Notify>,
}

#[derive(Default)]
struct Book {
    entries: HashMap<ConversationId, Entry>,
    /// Completed conversations, oldest first, for expiry and eviction.
    completed: VecDeque<(ConversationId, Instant)>,
}

/// Remembers completed deliveries for `retention`, at most `capacity` of them (the oldest go
/// first). Its clock is tokio's, so tests can pause time.
pub struct InMemoryDeliveryLedger {
    book: Mutex<Book>,
    retention: Duration,
    capacity: usize,
}

impl InMemoryDeliveryLedger {
    /// An empty ledger.
    pub fn new(retention: Duration, capacity: usize) -> Self {
        Self {
            book: Mutex::new(Book::default()),
            retention,
            capacity: capacity.max(1),
        }
    }

    /// Conversations remembered right now (in flight or completed).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops completed entries past retention, then the oldest while over capacity.
    fn prune(&self, book: &mut Book, now: Instant) {
        while let Some((id, at)) = book.completed.front().cloned() {
            let expired = now.duration_since(at) >= self.retention;
            if !expired && book.entries.len() < self.capacity {
                break;
            }
            book.completed.pop_front();
            // The entry may have been replaced since; only drop the completion recorded here.
            if matches!(book.entries.get(&id), Some(Entry { state: State::Completed { at: done, .. }, .. }) if *done == at)
            {
                book.entries.remove(&id);
            }
        }
    }
}

#[async_trait]
impl DeliveryLedger for InMemoryDeliveryLedger {
    async fn claim(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        lease: Duration,
    ) -> Result<Claim, LedgerError> {
        let now = Instant::now();
        let mut book = self.lock();
        self.prune(&mut book, now);
        if let Some(entry) = book.entries.get(conversation_id) {
            let live = match &entry.state {
                State::InFlight { lease_until } => *lease_until > now,
                State::Completed { .. } => true,
            };
            if live {
                if entry.fingerprint != fingerprint {
                    return Ok(Claim::Conflict);
                }
                return Ok(match &entry.state {
                    State::InFlight { .. } => Claim::InFlight,
                    State::Completed { outcome, .. } => Claim::Completed(outcome.clone()),
                });
            }
        }
        // New, or an in-flight claim whose owner vanished (its lease ran out).
        let settled = book
            .entries
            .remove(conversation_id)
            .map(|old| old.settled)
            .unwrap_or_default();
        book.entries.insert(
            conversation_id.clone(),
            Entry {
                fingerprint,
                state: State::InFlight {
                    lease_until: now + lease,
                },
                settled,
            },
        );
        Ok(Claim::Claimed)
    }

    async fn complete(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        outcome: &CallOutcome,
    ) -> Result<(), LedgerError> {
        let now = Instant::now();
        let mut book = self.lock();
        if let Some(entry) = book.entries.get_mut(conversation_id)
            && entry.fingerprint == fingerprint
        {
            entry.state = State::Completed {
                outcome: outcome.clone(),
                at: now,
            };
            entry.settled.notify_waiters();
            book.completed.push_back((conversation_id.clone(), now));
        }
        self.prune(&mut book, now);
        Ok(())
    }

    async fn release(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
    ) -> Result<(), LedgerError> {
        let mut book = self.lock();
        let owned = matches!(
            book.entries.get(conversation_id),
            Some(Entry { state: State::InFlight { .. }, fingerprint: f, .. }) if *f == fingerprint
        );
        if owned && let Some(entry) = book.entries.remove(conversation_id) {
            entry.settled.notify_waiters();
        }
        Ok(())
    }

    async fn wait_settled(&self, conversation_id: &ConversationId, timeout: Duration) {
        let settled = {
            let book = self.lock();
            match book.entries.get(conversation_id) {
                Some(Entry {
                    state: State::InFlight { .. },
                    settled,
                    ..
                }) => Arc::clone(settled),
                _ => return,
            }
        };
        let notified = settled.notified();
        tokio::pin!(notified);
        // Registered before the state is looked at again, so a completion in between is seen.
        notified.as_mut().enable();
        let still_in_flight = matches!(
            self.lock().entries.get(conversation_id),
            Some(Entry {
                state: State::InFlight { .. },
                ..
            })
        );
        if still_in_flight {
            let _ = tokio::time::timeout(timeout, notified).await;
        }
    }
}
