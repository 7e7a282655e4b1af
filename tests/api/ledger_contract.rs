//! The `DeliveryLedger` port's contract, written once against the trait and run against the
//! in-memory and the Redis adapter (`ledger_contract!` per adapter), so they cannot drift.
//! Rules act through one replica and look through the other: for Redis that is two connections,
//! as two replicas would have. Time is real here (Redis keeps its own clock): leases and
//! retentions are short, and waits are generous.

use std::sync::Arc;
use std::time::Duration;

use precall_webhook::domain::{CallOutcome, CallerInfo, ConversationId, Fingerprint};
use precall_webhook::ports::{Claim, ClaimToken, DeliveryLedger};
use tokio::sync::Barrier;
use tokio::time::Instant;

use crate::replicas::Replicas;

/// The retention of the rules that do not wait for it to run out.
pub const RETENTION: Duration = Duration::from_secs(3600);
/// The retention of the rule that waits for it.
pub const SHORT_RETENTION: Duration = Duration::from_secs(1);
/// The capacity of the rules that do not fill it.
pub const CAPACITY: usize = 1000;

const A: Fingerprint = Fingerprint([1; 32]);
const B: Fingerprint = Fingerprint([2; 32]);
const LEASE: Duration = Duration::from_secs(60);
/// A bound no healthy wake-up comes near; waiting rules wait far longer than this.
const PROMPTLY: Duration = Duration::from_secs(10);

type Ledgers = Replicas<dyn DeliveryLedger>;

fn id(s: &str) -> ConversationId {
    ConversationId::parse(s).unwrap()
}

fn outcome(conversation: &str) -> CallOutcome {
    CallOutcome {
        conversation_id: id(conversation),
        voice: None,
        voice_reused: false,
        agent_updated: true,
        caller_info: CallerInfo {
            name: Some("Ivan".into()),
            date_of_birth: Some("11.12.2007".into()),
        },
        stored_sample: None,
    }
}

async fn claim(ledger: &dyn DeliveryLedger, c: &str, f: Fingerprint) -> (ClaimToken, bool) {
    claim_for(ledger, c, f, LEASE).await
}

async fn claim_for(
    ledger: &dyn DeliveryLedger,
    c: &str,
    f: Fingerprint,
    lease: Duration,
) -> (ClaimToken, bool) {
    match ledger.claim(&id(c), f, lease).await {
        Ok(Claim::Claimed { token, uncertain }) => (token, uncertain),
        other => panic!("expected a claim, got {other:?}"),
    }
}

pub async fn a_completed_delivery_is_replayed_and_a_different_body_conflicts(l: &Ledgers) {
    let (token, uncertain) = claim(&*l.one, "c1", A).await;
    assert!(!uncertain);
    assert_eq!(
        l.other.claim(&id("c1"), A, LEASE).await,
        Ok(Claim::InFlight)
    );
    assert_eq!(
        l.other.claim(&id("c1"), B, LEASE).await,
        Ok(Claim::Conflict)
    );
    assert_eq!(
        l.one.complete(&id("c1"), &token, &outcome("c1")).await,
        Ok(true)
    );
    assert_eq!(
        l.other.claim(&id("c1"), A, LEASE).await,
        Ok(Claim::Completed(outcome("c1"))),
        "a redelivery to another replica is a replay"
    );
    assert_eq!(
        l.other.claim(&id("c1"), B, LEASE).await,
        Ok(Claim::Conflict)
    );
}

pub async fn a_released_delivery_is_forgotten(l: &Ledgers) {
    let (token, _) = claim(&*l.one, "c1", A).await;
    assert_eq!(l.one.release(&id("c1"), &token, false).await, Ok(true));
    let (_, uncertain) = claim(&*l.other, "c1", B).await;
    assert!(
        !uncertain,
        "a failure that left nothing behind is not remembered"
    );
}

pub async fn an_uncertain_release_is_passed_on_to_the_next_claim_whatever_its_body(l: &Ledgers) {
    let (token, _) = claim(&*l.one, "c1", A).await;
    assert_eq!(l.one.release(&id("c1"), &token, true).await, Ok(true));
    let (_, uncertain) = claim(&*l.other, "c1", B).await;
    assert!(uncertain, "the next delivery must look for the voice first");
}

pub async fn a_token_settles_its_claim_once(l: &Ledgers) {
    let (token, _) = claim(&*l.one, "c1", A).await;
    assert_eq!(
        l.one.complete(&id("c1"), &token, &outcome("c1")).await,
        Ok(true)
    );
    assert_eq!(
        l.other.complete(&id("c1"), &token, &outcome("c1")).await,
        Ok(false)
    );
    assert_eq!(l.other.release(&id("c1"), &token, true).await, Ok(false));
    let forged = ClaimToken::new("not-a-token-the-ledger-made");
    let (_, _) = claim(&*l.one, "c2", A).await;
    assert_eq!(l.other.release(&id("c2"), &forged, false).await, Ok(false));
    assert_eq!(
        l.other.claim(&id("c2"), A, LEASE).await,
        Ok(Claim::InFlight),
        "a wrong token changed nothing"
    );
    assert_eq!(
        l.one.claim(&id("c1"), A, LEASE).await,
        Ok(Claim::Completed(outcome("c1")))
    );
}

pub async fn a_lapsed_lease_is_taken_over_as_uncertain_and_its_owner_can_no_longer_settle(
    l: &Ledgers,
) {
    let lease = Duration::from_millis(200);
    let (lapsed, _) = claim_for(&*l.one, "c1", A, lease).await;
    tokio::time::sleep(lease * 3).await;
    let (current, uncertain) = claim(&*l.other, "c1", A).await;
    assert!(uncertain, "a vanished owner may have been cloning");
    assert_ne!(lapsed, current);
    assert_eq!(
        l.one.complete(&id("c1"), &lapsed, &outcome("c1")).await,
        Ok(false)
    );
    assert_eq!(l.one.release(&id("c1"), &lapsed, false).await, Ok(false));
    assert_eq!(l.one.claim(&id("c1"), A, LEASE).await, Ok(Claim::InFlight));
    assert_eq!(
        l.other.complete(&id("c1"), &current, &outcome("c1")).await,
        Ok(true)
    );
    assert_eq!(
        l.one.claim(&id("c1"), A, LEASE).await,
        Ok(Claim::Completed(outcome("c1")))
    );
}

/// Run with [`SHORT_RETENTION`].
pub async fn settlements_are_forgotten_after_the_retention_window(l: &Ledgers) {
    let (token, _) = claim(&*l.one, "c1", A).await;
    l.one
        .complete(&id("c1"), &token, &outcome("c1"))
        .await
        .unwrap();
    let (token, _) = claim(&*l.one, "c2", A).await;
    l.one.release(&id("c2"), &token, true).await.unwrap();
    assert!(matches!(
        l.other.claim(&id("c1"), A, LEASE).await,
        Ok(Claim::Completed(_))
    ));

    tokio::time::sleep(SHORT_RETENTION * 2).await;

    let (_, uncertain) = claim(&*l.other, "c1", B).await;
    assert!(!uncertain, "the completion is forgotten");
    let (_, uncertain) = claim(&*l.other, "c2", B).await;
    assert!(!uncertain, "the uncertain release is forgotten");
}

/// Run with a capacity of 3.
pub async fn stays_within_its_capacity_forgetting_the_oldest_first(l: &Ledgers) {
    for n in 0..10 {
        let c = format!("c{n}");
        let (token, _) = claim(&*l.one, &c, A).await;
        l.one.complete(&id(&c), &token, &outcome(&c)).await.unwrap();
    }
    assert!(matches!(
        l.other.claim(&id("c9"), A, LEASE).await,
        Ok(Claim::Completed(_))
    ));
    assert!(matches!(
        l.other.claim(&id("c0"), A, LEASE).await,
        Ok(Claim::Claimed { .. })
    ));
}

pub async fn concurrent_claims_on_one_conversation_give_exactly_one_claim(l: &Ledgers) {
    const CLAIMERS: usize = 8;
    for round in 0..10 {
        let conversation = format!("race_{round}");
        let start = Arc::new(Barrier::new(CLAIMERS));
        let claimers: Vec<_> = (0..CLAIMERS)
            .map(|n| {
                let ledger = Arc::clone(if n % 2 == 0 { &l.one } else { &l.other });
                let (start, conversation) = (Arc::clone(&start), id(&conversation));
                tokio::spawn(async move {
                    start.wait().await;
                    ledger.claim(&conversation, A, LEASE).await
                })
            })
            .collect();
        let mut claimed = 0;
        for claimer in claimers {
            match claimer.await.unwrap() {
                Ok(Claim::Claimed { .. }) => claimed += 1,
                Ok(Claim::InFlight) => {}
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!(claimed, 1, "round {round}: exactly one claimer owns it");
    }
}

/// Waits on `other` for `c1`, which `one` holds, then claims it again; `settle` settles it on
/// `one`. Returns the waiter's claim and how long it waited.
async fn wait_for_settlement(
    l: &Ledgers,
    settle: impl AsyncFnOnce(&dyn DeliveryLedger, ClaimToken),
) -> (Claim, Duration) {
    let (token, _) = claim(&*l.one, "c1", A).await;
    let waiter = {
        let ledger = Arc::clone(&l.other);
        tokio::spawn(async move {
            let started = Instant::now();
            ledger.wait_settled(&id("c1"), PROMPTLY * 6).await;
            let waited = started.elapsed();
            (ledger.claim(&id("c1"), A, LEASE).await.unwrap(), waited)
        })
    };
    // Let the waiter start waiting; settling first would be fine too, just a weaker test.
    tokio::time::sleep(Duration::from_millis(100)).await;
    settle(&*l.one, token).await;
    tokio::time::timeout(PROMPTLY, waiter)
        .await
        .expect("the waiter wakes long before its own timeout")
        .unwrap()
}

pub async fn a_waiter_wakes_promptly_when_the_owner_completes(l: &Ledgers) {
    let (claim, waited) = wait_for_settlement(l, async |ledger, token| {
        let completed = ledger.complete(&id("c1"), &token, &outcome("c1")).await;
        assert_eq!(completed, Ok(true));
    })
    .await;
    assert_eq!(claim, Claim::Completed(outcome("c1")));
    assert!(waited < PROMPTLY, "waited {waited:?}");
}

pub async fn a_waiter_wakes_promptly_when_the_owner_releases(l: &Ledgers) {
    let (claim, _) = wait_for_settlement(l, async |ledger, token| {
        assert_eq!(ledger.release(&id("c1"), &token, true).await, Ok(true));
    })
    .await;
    assert!(
        matches!(
            claim,
            Claim::Claimed {
                uncertain: true,
                ..
            }
        ),
        "{claim:?}"
    );
}

pub async fn waiting_returns_at_once_when_nothing_is_in_flight_and_gives_up_after_the_timeout(
    l: &Ledgers,
) {
    tokio::time::timeout(PROMPTLY, l.one.wait_settled(&id("c_unknown"), PROMPTLY * 6))
        .await
        .expect("nothing to wait for");

    claim(&*l.one, "c1", A).await;
    let timeout = Duration::from_millis(300);
    let started = Instant::now();
    tokio::time::timeout(PROMPTLY, l.other.wait_settled(&id("c1"), timeout))
        .await
        .expect("the wait ends at its timeout");
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
}

/// Runs the whole suite against fresh ledgers per rule. `$make` builds the [`Replicas`] from
/// `$retention` and `$capacity`, which each rule sets.
#[macro_export]
macro_rules! ledger_contract {
    ($module:ident, |$retention:ident, $capacity:ident| $make:expr) => {
        mod $module {
            use std::time::Duration;

            #[allow(unused_imports)]
            use super::*;

            use $crate::ledger_contract::{self as rules, CAPACITY, RETENTION, SHORT_RETENTION};

            macro_rules! rule {
                ($name:ident) => {
                    rule!($name, RETENTION, CAPACITY);
                };
                ($name:ident, $r:expr, $c:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let ($retention, $capacity): (Duration, usize) = ($r, $c);
                        let ledgers = $make;
                        rules::$name(&ledgers).await;
                    }
                };
            }

            rule!(a_completed_delivery_is_replayed_and_a_different_body_conflicts);
            rule!(a_released_delivery_is_forgotten);
            rule!(an_uncertain_release_is_passed_on_to_the_next_claim_whatever_its_body);
            rule!(a_token_settles_its_claim_once);
            rule!(a_lapsed_lease_is_taken_over_as_uncertain_and_its_owner_can_no_longer_settle);
            rule!(
                settlements_are_forgotten_after_the_retention_window,
                SHORT_RETENTION,
                CAPACITY
            );
            rule!(
                stays_within_its_capacity_forgetting_the_oldest_first,
                RETENTION,
                3
            );
            rule!(concurrent_claims_on_one_conversation_give_exactly_one_claim);
            rule!(a_waiter_wakes_promptly_when_the_owner_completes);
            rule!(a_waiter_wakes_promptly_when_the_owner_releases);
            rule!(waiting_returns_at_once_when_nothing_is_in_flight_and_gives_up_after_the_timeout);
        }
    };
}

ledger_contract!(in_memory, |retention, capacity| {
    Replicas::<dyn DeliveryLedger>::in_memory(Arc::new(
        precall_webhook::adapters::InMemoryDeliveryLedger::new(retention, capacity),
    ))
});

ledger_contract!(redis, |retention, capacity| {
    Replicas::<dyn DeliveryLedger>::on_redis(|store| {
        Arc::new(store.delivery_ledger(retention, capacity))
    })
    .await
});
