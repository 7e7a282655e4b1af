//! The `SweepLease` port's contract — one replica sweeps at a time — written once against the
//! trait and run against the in-memory and the Redis adapter; the two holders ask through two
//! replicas' connections.

use std::sync::Arc;
use std::time::Duration;

use precall_webhook::ports::{LeaseHolder, SweepLease};
use tokio::sync::Barrier;

use crate::replicas::Replicas;

const TTL: Duration = Duration::from_secs(60);

type Leases = Replicas<dyn SweepLease>;

fn holder(name: &str) -> LeaseHolder {
    LeaseHolder::new(name)
}

pub async fn of_two_holders_asking_at_once_exactly_one_gets_the_lease(l: &Leases) {
    for round in 0..10 {
        let start = Arc::new(Barrier::new(2));
        let asking: Vec<_> = [("replica_a", &l.one), ("replica_b", &l.other)]
            .into_iter()
            .map(|(name, lease)| {
                let (lease, start) = (Arc::clone(lease), Arc::clone(&start));
                tokio::spawn(async move {
                    start.wait().await;
                    (name, lease.try_acquire(&holder(name), TTL).await.unwrap())
                })
            })
            .collect();
        let mut winners = Vec::new();
        for asked in asking {
            let (name, got) = asked.await.unwrap();
            if got {
                winners.push(name);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(l.one.release(&holder(winners[0])).await, Ok(true));
    }
}

pub async fn the_holder_renews_its_lease_and_the_other_still_cannot_take_it(l: &Leases) {
    assert_eq!(l.one.try_acquire(&holder("a"), TTL).await, Ok(true));
    assert_eq!(
        l.other.try_acquire(&holder("a"), TTL).await,
        Ok(true),
        "renewed"
    );
    assert_eq!(l.other.try_acquire(&holder("b"), TTL).await, Ok(false));
}

pub async fn a_release_by_another_holder_changes_nothing(l: &Leases) {
    assert_eq!(l.one.try_acquire(&holder("a"), TTL).await, Ok(true));
    assert_eq!(l.other.release(&holder("b")).await, Ok(false));
    assert_eq!(
        l.other.try_acquire(&holder("b"), TTL).await,
        Ok(false),
        "still a's"
    );
    assert_eq!(l.one.release(&holder("a")).await, Ok(true));
    assert_eq!(
        l.one.release(&holder("a")).await,
        Ok(false),
        "released once"
    );
    assert_eq!(l.other.try_acquire(&holder("b"), TTL).await, Ok(true));
}

pub async fn a_lapsed_lease_goes_to_the_next_holder_and_its_former_holder_cannot_release_it(
    l: &Leases,
) {
    let short = Duration::from_millis(300);
    assert_eq!(l.one.try_acquire(&holder("a"), short).await, Ok(true));
    tokio::time::sleep(short * 3).await;
    assert_eq!(l.other.try_acquire(&holder("b"), TTL).await, Ok(true));
    assert_eq!(l.one.release(&holder("a")).await, Ok(false));
    assert_eq!(l.one.try_acquire(&holder("a"), TTL).await, Ok(false));
}

/// Runs the whole suite against a fresh lease per rule.
#[macro_export]
macro_rules! lease_contract {
    ($module:ident, $make:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::lease_contract as rules;

            macro_rules! rule {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let leases = $make;
                        rules::$name(&leases).await;
                    }
                };
            }

            rule!(of_two_holders_asking_at_once_exactly_one_gets_the_lease);
            rule!(the_holder_renews_its_lease_and_the_other_still_cannot_take_it);
            rule!(a_release_by_another_holder_changes_nothing);
            rule!(a_lapsed_lease_goes_to_the_next_holder_and_its_former_holder_cannot_release_it);
        }
    };
}

lease_contract!(
    in_memory,
    Replicas::<dyn SweepLease>::in_memory(Arc::new(
        precall_webhook::adapters::InMemorySweepLease::new()
    ))
);

lease_contract!(
    redis,
    Replicas::<dyn SweepLease>::on_redis(|store| Arc::new(store.sweep_lease())).await
);
