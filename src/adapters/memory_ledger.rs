//! A [`DeliveryLedger`] in this process's memory: bounded, with a retention window. Enough for
//! one replica; several replicas need a shared store behind the same port.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use foldhash::fast::RandomState;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::domain::{CallOutcome, ConversationId, Fingerprint};
use crate::ports::{Claim, ClaimToken, DeliveryLedger, LedgerError};

enum State {
    InFlight {
        token: ClaimToken,
        lease_until: Instant,
    },
    Completed {
        outcome: CallOutcome,
        at: Instant,
    },
    /// A failed delivery that may have left a voice behind: the next claim is told so.
    Uncertain {
        at: Instant,
    },
}

impl State {
    /// When a settled entry was settled (in-flight ones are not settled).
    fn settled_at(&self) -> Option<Instant> {
        match self {
            Self::InFlight { .. } => None,
            Self::Completed { at, .. } | Self::Uncertain { at } => Some(*at),
        }
    }
}

struct Entry {
    fingerprint: Fingerprint,
    state: State,
    /// Wakes identical deliveries waiting for this one.
    settled: Arc<Notify>,
}

#[derive(Default)]
struct Book {
    /// foldhash rather than SipHash: every webhook looks its conversation up here two or three
    /// times. Its keys come from signed requests only, and the per-process random seed keeps
    /// their hashes unpredictable.
    entries: HashMap<ConversationId, Entry, RandomState>,
    /// Settled conversations (completed, or released uncertain), oldest first, for expiry and
    /// eviction.
    settled: VecDeque<(ConversationId, Instant)>,
}

/// Remembers settled deliveries for `retention`, at most `capacity` of them (the oldest go
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

    /// Conversations remembered right now (in flight or settled).
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

    /// Drops settled entries past retention, then the oldest while more than `capacity`
    /// would be remembered once `incoming` new entries are added.
    fn prune(&self, book: &mut Book, now: Instant, incoming: usize) {
        while let Some((id, at)) = book.settled.front().cloned() {
            let expired = now.duration_since(at) >= self.retention;
            if !expired && book.entries.len() + incoming <= self.capacity {
                break;
            }
            book.settled.pop_front();
            // The entry may have been replaced since; only drop the settlement recorded here.
            if book
                .entries
                .get(&id)
                .is_some_and(|entry| entry.state.settled_at() == Some(at))
            {
                book.entries.remove(&id);
            }
        }
    }

    /// Settles the claim `token` owns as `state` (or forgets it with `None`); `false` when the
    /// token no longer owns it.
    fn settle(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        state: Option<State>,
    ) -> bool {
        let now = Instant::now();
        let mut book = self.lock();
        let owned = matches!(
            book.entries.get(conversation_id),
            Some(Entry { state: State::InFlight { token: owner, .. }, .. }) if owner == token
        );
        if !owned {
            return false;
        }
        let settled_at = state.as_ref().and_then(State::settled_at);
        let entry = match state {
            Some(state) => book.entries.get_mut(conversation_id).map(|entry| {
                entry.state = state;
                Arc::clone(&entry.settled)
            }),
            None => book
                .entries
                .remove(conversation_id)
                .map(|entry| entry.settled),
        };
        if let Some(settled) = entry {
            settled.notify_waiters();
        }
        if let Some(at) = settled_at {
            book.settled.push_back((conversation_id.clone(), at));
        }
        self.prune(&mut book, now, 0);
        true
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
        let uncertain = match book.entries.get(conversation_id) {
            None => false,
            Some(entry) => match &entry.state {
                State::InFlight { lease_until, .. } if *lease_until > now => {
                    return Ok(if entry.fingerprint == fingerprint {
                        Claim::InFlight
                    } else {
                        Claim::Conflict
                    });
                }
                State::Completed { outcome, .. } => {
                    return Ok(if entry.fingerprint == fingerprint {
                        Claim::Completed(outcome.clone())
                    } else {
                        Claim::Conflict
                    });
                }
                // Its owner vanished mid-delivery: it may have been cloning.
                State::InFlight { .. } | State::Uncertain { .. } => true,
            },
        };
        let settled = book
            .entries
            .remove(conversation_id)
            .map(|old| old.settled)
            .unwrap_or_default();
        let token = ClaimToken::new(uuid::Uuid::new_v4().simple().to_string());
        book.entries.insert(
            conversation_id.clone(),
            Entry {
                fingerprint,
                state: State::InFlight {
                    token: token.clone(),
                    lease_until: now + lease,
                },
                settled,
            },
        );
        Ok(Claim::Claimed { token, uncertain })
    }

    async fn complete(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        outcome: &CallOutcome,
    ) -> Result<bool, LedgerError> {
        let state = State::Completed {
            outcome: outcome.clone(),
            at: Instant::now(),
        };
        Ok(self.settle(conversation_id, token, Some(state)))
    }

    async fn release(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        uncertain: bool,
    ) -> Result<bool, LedgerError> {
        let state = uncertain.then(|| State::Uncertain { at: Instant::now() });
        Ok(self.settle(conversation_id, token, state))
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
            voice_reused: false,
            agent_updated: true,
            caller_info: CallerInfo::default(),
            stored_sample: None,
        }
    }

    const A: Fingerprint = Fingerprint([1; 32]);
    const B: Fingerprint = Fingerprint([2; 32]);
    const LEASE: Duration = Duration::from_secs(60);

    async fn claim(ledger: &InMemoryDeliveryLedger, c: &str, f: Fingerprint) -> (ClaimToken, bool) {
        match ledger.claim(&id(c), f, LEASE).await {
            Ok(Claim::Claimed { token, uncertain }) => (token, uncertain),
            other => panic!("expected a claim, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_completed_delivery_is_replayed_and_a_different_body_conflicts() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        let (token, uncertain) = claim(&ledger, "c1", A).await;
        assert!(!uncertain);
        assert_eq!(ledger.claim(&id("c1"), A, LEASE).await, Ok(Claim::InFlight));
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Conflict));
        assert_eq!(
            ledger.complete(&id("c1"), &token, &outcome("c1")).await,
            Ok(true)
        );
        assert_eq!(
            ledger.claim(&id("c1"), A, LEASE).await,
            Ok(Claim::Completed(outcome("c1")))
        );
        assert_eq!(ledger.claim(&id("c1"), B, LEASE).await, Ok(Claim::Conflict));
    }

    #[tokio::test(start_paused = true)]
    async fn a_released_delivery_is_forgotten() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        let (token, _) = claim(&ledger, "c1", A).await;
        assert_eq!(ledger.release(&id("c1"), &token, false).await, Ok(true));
        assert!(ledger.is_empty());
        assert!(!claim(&ledger, "c1", B).await.1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_uncertain_release_is_passed_on_to_the_next_claim_whatever_its_body() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        let (token, _) = claim(&ledger, "c1", A).await;
        assert_eq!(ledger.release(&id("c1"), &token, true).await, Ok(true));
        let (_, uncertain) = claim(&ledger, "c1", B).await;
        assert!(uncertain, "the next delivery must look for the voice first");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lapsed_owner_can_neither_complete_nor_release_the_claim_of_whoever_took_over() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        let (lapsed, _) = claim(&ledger, "c1", A).await;
        tokio::time::advance(LEASE + Duration::from_secs(1)).await;
        let (current, uncertain) = claim(&ledger, "c1", A).await;
        assert!(uncertain, "a vanished owner may have been cloning");
        assert_ne!(lapsed, current);
        assert_eq!(
            ledger.complete(&id("c1"), &lapsed, &outcome("c1")).await,
            Ok(false)
        );
        assert_eq!(ledger.release(&id("c1"), &lapsed, false).await, Ok(false));
        assert_eq!(ledger.claim(&id("c1"), A, LEASE).await, Ok(Claim::InFlight));
        assert_eq!(
            ledger.complete(&id("c1"), &current, &outcome("c1")).await,
            Ok(true)
        );
        assert_eq!(
            ledger.claim(&id("c1"), A, LEASE).await,
            Ok(Claim::Completed(outcome("c1")))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn completions_are_forgotten_after_the_retention_window() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        let (token, _) = claim(&ledger, "c1", A).await;
        ledger
            .complete(&id("c1"), &token, &outcome("c1"))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(3599)).await;
        assert!(matches!(
            ledger.claim(&id("c1"), A, LEASE).await,
            Ok(Claim::Completed(_))
        ));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!claim(&ledger, "c1", B).await.1);
    }

    #[tokio::test(start_paused = true)]
    async fn stays_within_its_capacity_forgetting_the_oldest_first() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 3);
        for n in 0..10 {
            let c = format!("c{n}");
            let (token, _) = claim(&ledger, &c, A).await;
            ledger
                .complete(&id(&c), &token, &outcome(&c))
                .await
                .unwrap();
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert!(ledger.len() <= 3, "{}", ledger.len());
        assert!(matches!(
            ledger.claim(&id("c9"), A, LEASE).await,
            Ok(Claim::Completed(_))
        ));
        assert!(matches!(
            ledger.claim(&id("c0"), A, LEASE).await,
            Ok(Claim::Claimed { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_wake_when_the_delivery_settles() {
        let ledger = Arc::new(InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100));
        let (token, _) = claim(&ledger, "c1", A).await;
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
        ledger
            .complete(&id("c1"), &token, &outcome("c1"))
            .await
            .unwrap();
        let claim = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim, Ok(Claim::Completed(outcome("c1"))));
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_gives_up_after_the_timeout() {
        let ledger = InMemoryDeliveryLedger::new(Duration::from_secs(3600), 100);
        claim(&ledger, "c1", A).await;
        let started = Instant::now();
        ledger.wait_settled(&id("c1"), Duration::from_secs(5)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }
}
