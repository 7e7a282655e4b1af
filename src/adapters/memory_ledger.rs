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

    /// Drops completed entries past retention, then the oldest while more than `capacity`
    /// would be remembered once `incoming` new entries are added.
    fn prune(&self, book: &mut Book, now: Instant, incoming: usize) {
        while let Some((id, at)) = book.completed.front().cloned() {
            let expired = now.duration_since(at) >= self.retention;
            if !expired && book.entries.len() + incoming <= self.capacity {
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
        let incoming = usize::from(!book.entries.contains_key(conversation_id));
        self.prune(&mut book, now, incoming);
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
        self.prune(&mut book, now, 0);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CallerInfo;

    fn id(s: &str) -> ConversationId {
        ConversationId::parse(s).unwrap()
    }

    fn outcome(conversation: &str) -> CallOutcome {
        CallOutcome {
            conversation_id: id(conversation),
            voice: None,
            agent_updated: true,
            caller_info: CallerInfo::default(),
            stored_sample: None,
        }
    }

    const A: Fingerprint = Fingerprint([1; 32]);
    const B: Fingerprint = Fingerprint([2; 32]);
    const LEASE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_completed_delivery_is_replayed_and_a_different_body_conflicts() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        assert_eq!(ledger.claim(&id("c1"), A, LEASE).await, Ok(Claim::Claimed));
        assert_eq!(ledger.claim(&id("c1"), A, LEASE).await, Ok(Claim::InFlight));
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Conflict));
        ledger.complete(&id("c1"), A, &outcome("c1")).await.unwrap();
        assert_eq!(
            ledger.claim(&id("c1"), A, LEASE).await,
            Ok(Claim::Completed(outcome("c1")))
        );
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Conflict));
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_delivery_is_forgotten() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        ledger.claim(&id("c1"), A, LEASE).await.unwrap();
        ledger.release(&id("c1"), A).await.unwrap();
        assert!(ledger.is_empty());
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Claimed));
    }

    #[tokio::test(start_paused = true)]
    async fn completions_are_forgotten_after_the_retention_window() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        ledger.claim(&id("c1"), A, LEASE).await.unwrap();
        ledger.complete(&id("c1"), A, &outcome("c1")).await.unwrap();
        tokio::time::advance(Duration::from_secs(3599)).await;
        assert!(matches!(
            ledger.claim(&id("c1"), A, LEASE).await,
            Ok(Claim::Completed(_))
        ));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Claimed));
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_whose_owner_vanished_lapses_after_its_lease() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        ledger.claim(&id("c1"), A, LEASE).await.unwrap();
        tokio::time::advance(LEASE + Duration::from_secs(1)).await;
        assert_eq!(ledger.claim(&id("c1"), A, LEASE).await, Ok(Claim::Claimed));
    }

    #[tokio::test(start_paused = true)]
    async fn stays_within_its_capacity_forgetting_the_oldest_first() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 3);
        for n in 0..10 {
            let c = id(&format!("c{n}"));
            ledger.claim(&c, A, LEASE).await.unwrap();
            ledger
                .complete(&c, A, &outcome(&format!("c{n}")))
                .await
                .unwrap();
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert!(ledger.len() <= 3, "{}", ledger.len());
        assert!(matches!(
            ledger.claim(&id("c9"), A, LEASE).await,
            Ok(Claim::Completed(_))
        ));
        assert_eq!(ledger.claim(&id("c0"), A, LEASE).await, Ok(Claim::Claimed));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_wake_when_the_delivery_settles() {
        let ledger = Arc::new(InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100));
        ledger.claim(&id("c1"), A, LEASE).await.unwrap();
        let waiter = {
            let ledger = Arc::clone(&ledger);
            tokio::spawn(async move {
                ledger
                    .wait_settled(&id("c1"), Duration::from_secs(3600))
                    .await;
                ledger.claim(&id("c1"), A, LEASE).await
            })
        };
        tokio::task::yield_now().await;
        ledger.complete(&id("c1"), A, &outcome("c1")).await.unwrap();
        let claim = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim, Ok(Claim::Completed(outcome("c1"))));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_gives_up_after_the_timeout() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        ledger.claim(&id("c1"), A, LEASE).await.unwrap();
        let started = Instant::now();
        ledger.wait_settled(&id("c1"), Duration::from_secs(5)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
