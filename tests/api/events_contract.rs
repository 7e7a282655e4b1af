//! The `SeenEvents` port's contract (post-call de-duplication), written once against the trait
//! and run against the in-memory and the Redis adapter, acting through one replica and looking
//! through the other.

use std::sync::Arc;
use std::time::Duration;

use precall_webhook::ports::{EventKey, SeenEvents};
use tokio::sync::Barrier;

use crate::replicas::Replicas;

/// The retention of the rules that do not wait for it to run out.
pub const RETENTION: Duration = Duration::from_secs(3600);
/// The retention of the rule that waits for it.
pub const SHORT_RETENTION: Duration = Duration::from_secs(1);

type Events = Replicas<dyn SeenEvents>;

fn transcription(conversation: &str, at: &str) -> EventKey {
    EventKey::new("post_call_transcription", conversation, at)
}

pub async fn an_event_is_first_once_and_a_duplicate_after(e: &Events) {
    let key = transcription("conv_1", "1700000000");
    assert_eq!(e.one.first_delivery(&key).await, Ok(true));
    assert_eq!(
        e.other.first_delivery(&key).await,
        Ok(false),
        "a retry reaching another replica is a duplicate"
    );
    assert_eq!(e.one.first_delivery(&key).await, Ok(false));
    let later = transcription("conv_1", "1700000001");
    assert_eq!(
        e.other.first_delivery(&later).await,
        Ok(true),
        "another timestamp, another event"
    );
    let other_type = EventKey::new("call_initiation_failure", "conv_1", "1700000000");
    assert_eq!(e.other.first_delivery(&other_type).await, Ok(true));
}

/// Run with [`SHORT_RETENTION`].
pub async fn an_event_is_forgotten_after_the_retention(e: &Events) {
    let key = transcription("conv_1", "1700000000");
    assert_eq!(e.one.first_delivery(&key).await, Ok(true));
    tokio::time::sleep(SHORT_RETENTION * 2).await;
    assert_eq!(e.other.first_delivery(&key).await, Ok(true));
}

pub async fn concurrent_deliveries_of_one_event_have_exactly_one_first(e: &Events) {
    const DELIVERIES: usize = 8;
    for round in 0..10 {
        let key = transcription(&format!("conv_{round}"), "1700000000");
        let start = Arc::new(Barrier::new(DELIVERIES));
        let deliveries: Vec<_> = (0..DELIVERIES)
            .map(|n| {
                let events = Arc::clone(if n % 2 == 0 { &e.one } else { &e.other });
                let (start, key) = (Arc::clone(&start), key.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    events.first_delivery(&key).await.unwrap()
                })
            })
            .collect();
        let mut firsts = 0;
        for delivery in deliveries {
            firsts += usize::from(delivery.await.unwrap());
        }
        assert_eq!(firsts, 1, "round {round}: acted on once");
    }
}

/// Runs the whole suite against fresh stores per rule; `$make` builds the [`Replicas`] from
/// `$retention`, which each rule sets.
#[macro_export]
macro_rules! events_contract {
    ($module:ident, |$retention:ident| $make:expr) => {
        mod $module {
            use std::time::Duration;

            #[allow(unused_imports)]
            use super::*;
            use $crate::events_contract::{self as rules, RETENTION, SHORT_RETENTION};

            macro_rules! rule {
                ($name:ident, $r:expr) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let $retention: Duration = $r;
                        let events = $make;
                        rules::$name(&events).await;
                    }
                };
            }

            rule!(an_event_is_first_once_and_a_duplicate_after, RETENTION);
            rule!(an_event_is_forgotten_after_the_retention, SHORT_RETENTION);
            rule!(
                concurrent_deliveries_of_one_event_have_exactly_one_first,
                RETENTION
            );
        }
    };
}

events_contract!(in_memory, |retention| {
    Replicas::<dyn SeenEvents>::in_memory(Arc::new(
        precall_webhook::adapters::InMemorySeenEvents::new(retention, 10_000),
    ))
});

events_contract!(redis, |retention| {
    Replicas::<dyn SeenEvents>::on_redis(|store| Arc::new(store.seen_events(retention))).await
});
