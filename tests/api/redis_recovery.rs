//! The Redis adapters ride out a Redis restart by themselves: while Redis is away every
//! operation fails with the port's error (promptly, never hanging), and once it is back the same
//! adapters work again — nothing is rebuilt (SPEC, "Several replicas": the service recovers by
//! itself when Redis returns).

use std::time::Duration;

use precall_webhook::domain::{CallerKeySecret, ConversationId, Fingerprint};
use precall_webhook::ports::{
    Claim, DeliveryLedger, EventKey, LeaseHolder, SeenEvents, SweepLease, VoiceRegistry,
};

use crate::redis_server::RedisServer;

/// Far beyond what a failing or recovering operation needs; only a hang would reach it.
const BOUND: Duration = Duration::from_secs(15);
/// How long Redis may take to be reachable again through the same adapters.
const RECOVERY: Duration = Duration::from_secs(30);

async fn bounded<T>(what: &str, operation: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, operation)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for {BOUND:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_adapters_fail_while_redis_is_down_and_recover_by_themselves() {
    let mut server = RedisServer::start().await;
    let store = server.store("recovery:");
    let ledger = store.delivery_ledger(Duration::from_secs(3600), 1000);
    let registry = store.voice_registry();
    let events = store.seen_events(Duration::from_secs(3600));
    let lease = store.sweep_lease();
    let conversation = ConversationId::parse("conv_recovery").unwrap();
    let fingerprint = Fingerprint([7; 32]);
    let caller = CallerKeySecret::new("recovery")
        .key_of("+31600000000")
        .unwrap();
    let holder = LeaseHolder::new("replica_a");
    let lease_ttl = Duration::from_secs(60);
    let claim_lease = Duration::from_secs(60);
    assert_eq!(store.ping().await, Ok(()));
    assert_eq!(
        events.first_delivery(&EventKey::new("t", "c", "1")).await,
        Ok(true)
    );

    server.stop();

    assert!(bounded("ping", store.ping()).await.is_err());
    let claim = bounded(
        "claim",
        ledger.claim(&conversation, fingerprint, claim_lease),
    )
    .await;
    assert!(claim.is_err(), "{claim:?}");
    let reuse = bounded("reuse", registry.reuse(&caller, 0, &conversation, 1)).await;
    assert!(reuse.is_err(), "{reuse:?}");
    assert!(bounded("count", registry.count()).await.is_err());
    let first = bounded(
        "first_delivery",
        events.first_delivery(&EventKey::new("t", "c", "2")),
    )
    .await;
    assert!(first.is_err(), "{first:?}");
    let acquired = bounded("try_acquire", lease.try_acquire(&holder, lease_ttl)).await;
    assert!(acquired.is_err(), "{acquired:?}");
    bounded(
        "wait_settled",
        ledger.wait_settled(&conversation, Duration::from_secs(3600)),
    )
    .await;

    server.restart().await;

    let recovered = tokio::time::timeout(RECOVERY, async {
        while store.ping().await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(recovered.is_ok(), "not back within {RECOVERY:?}");
    // Redis came back empty (nothing persisted): every adapter works on it as on a new one.
    let claim = ledger.claim(&conversation, fingerprint, claim_lease).await;
    assert!(
        matches!(
            claim,
            Ok(Claim::Claimed {
                uncertain: false,
                ..
            })
        ),
        "{claim:?}"
    );
    assert_eq!(registry.reuse(&caller, 0, &conversation, 1).await, Ok(None));
    assert_eq!(registry.count().await, Ok(0));
    assert_eq!(
        events.first_delivery(&EventKey::new("t", "c", "1")).await,
        Ok(true)
    );
    assert_eq!(lease.try_acquire(&holder, lease_ttl).await, Ok(true));
}

/// How many connections listen for the ledger's wake-ups under `prefix` (the channel's name is
/// the adapter's business; this test looks at it to know when the listeners are back).
async fn listeners(server: &RedisServer, prefix: &str) -> i64 {
    let client = redis::Client::open(server.url()).unwrap();
    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let counts: Result<(String, i64), _> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(format!("{prefix}ledger-settled"))
        .query_async(&mut connection)
        .await;
    counts.map_or(0, |(_, count)| count)
}

/// Waits until both replicas' listeners are subscribed.
async fn both_listening(server: &RedisServer, prefix: &str) {
    let subscribed = tokio::time::timeout(RECOVERY, async {
        while listeners(server, prefix).await < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(subscribed.is_ok(), "the listeners did not subscribe");
}

/// Claims on `one`, waits on `other`, releases on `one`: the waiter must be woken by the
/// release's wake-up, since its fallback look comes only after an hour.
async fn a_release_wakes_the_waiter(
    one: &dyn DeliveryLedger,
    other: &dyn DeliveryLedger,
    conversation: &ConversationId,
) {
    let fingerprint = Fingerprint([9; 32]);
    let token = match one
        .claim(conversation, fingerprint, Duration::from_secs(60))
        .await
    {
        Ok(Claim::Claimed { token, .. }) => token,
        claim => panic!("expected a claim, got {claim:?}"),
    };
    let waiting = other.wait_settled(conversation, Duration::from_secs(3600));
    let settling = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        one.release(conversation, &token, false).await
    };
    let ((), released) = bounded("a wait for a settlement", async {
        tokio::join!(waiting, settling)
    })
    .await;
    assert_eq!(released, Ok(true));
}

#[tokio::test]
async fn wake_ups_reach_another_replica_before_and_after_redis_restarts() {
    let mut server = RedisServer::start().await;
    let ledger = |store: precall_webhook::adapters::RedisStore| {
        store
            .delivery_ledger(Duration::from_secs(3600), 1000)
            .with_fallback_poll(Duration::from_secs(3600))
    };
    let (one, other) = (ledger(server.store("wake:")), ledger(server.store("wake:")));
    let conversation = ConversationId::parse("conv_wake").unwrap();
    both_listening(&server, "wake:").await;
    a_release_wakes_the_waiter(&one, &other, &conversation).await;

    server.stop();
    server.restart().await;

    both_listening(&server, "wake:").await;
    let back = tokio::time::timeout(RECOVERY, async {
        while one
            .claim(
                &ConversationId::parse("conv_probe").unwrap(),
                Fingerprint([1; 32]),
                Duration::from_secs(1),
            )
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(back.is_ok(), "the ledger works again");
    a_release_wakes_the_waiter(&one, &other, &conversation).await;
}
