//! The one connection every Redis adapter shares, opened from a URL, and the key prefix that
//! keeps two deployments (or two tests) on one Redis apart.
//!
//! Commands go over one multiplexed connection behind `redis`'s `ConnectionManager`, which
//! reconnects by itself after Redis restarts or the network drops: a command sent while Redis is
//! away fails (after a couple of quick reconnect attempts, each bounded by a timeout) rather than
//! hangs, and the commands after Redis returns succeed on a fresh connection — no adapter needs to
//! be rebuilt. Blocking commands never go over it (they would stall every other command); the
//! ledger's wake-ups use a pub/sub connection of their own.

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError};

use super::{RedisDeliveryLedger, RedisSeenEvents, RedisSweepLease, RedisVoiceRegistry};

/// How long one connection attempt may take (a TCP connect, TLS handshake and `HELLO`/`AUTH`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may wait for its answer. Every command here is O(small): a slow answer
/// means Redis is in trouble, and the webhook should say `STORE_UNAVAILABLE` rather than wait.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect attempts per outage before the waiting commands fail; the next command starts a
/// new round, so a longer outage only costs failed commands, never a dead adapter.
const RECONNECT_ATTEMPTS: usize = 2;
/// The first back-off between reconnect attempts (doubling, with jitter, up to the maximum).
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest back-off between reconnect attempts.
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(1);

/// Why Redis could not be opened or reached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("redis unavailable: {0}")]
pub struct RedisStoreError(pub String);

/// A short description of a Redis failure for a port's error. Never holds the URL (which may
/// carry a password): `redis`'s errors describe the failure, not the connection settings.
pub(super) fn describe(err: &RedisError) -> String {
    err.to_string()
}

/// A connection to one Redis and a key prefix: the factory of the four Redis adapters, so the
/// application builds them all from one `REDIS_URL`. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct RedisStore {
    /// Opens the extra connections: the ledger's pub/sub listener.
    client: Client,
    /// The shared multiplexed connection every command goes over.
    connection: ConnectionManager,
    /// Put in front of every key and channel name.
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    // The client's connection info may hold a password: show the prefix only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Opens `url` (`redis://`, `rediss://` or `redis+unix://`), every key under `prefix` (e.g.
    /// `precall:`). Connects lazily: Redis being down now is not an error here — the first
    /// commands fail, and succeed once it is up — so a replica can start (and report itself not
    /// ready) while Redis is away. [`RedisStore::ping`] checks the connection.
    ///
    /// Must be called inside a tokio runtime (the connection's driver runs on it).
    ///
    /// # Errors
    /// [`RedisStoreError`] when the URL does not parse or names an unsupported scheme.
    pub fn open(url: &str, prefix: &str) -> Result<Self, RedisStoreError> {
        let client = Client::open(url).map_err(|err| RedisStoreError(describe(&err)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|err| RedisStoreError(describe(&err)))?;
        Ok(Self {
            client,
            connection,
            prefix: Arc::from(prefix),
        })
    }

    /// Whether Redis answers now (for readiness).
    ///
    /// # Errors
    /// [`RedisStoreError`] when it does not.
    pub async fn ping(&self) -> Result<(), RedisStoreError> {
        ::redis::cmd("PING")
            .query_async::<()>(&mut self.connection())
            .await
            .map_err(|err| RedisStoreError(describe(&err)))
    }

    /// The delivery ledger: settled deliveries are remembered for `retention`, at most
    /// `capacity` of them (the oldest are forgotten first).
    pub fn delivery_ledger(&self, retention: Duration, capacity: usize) -> RedisDeliveryLedger {
        RedisDeliveryLedger::new(self, retention, capacity)
    }

    /// The voice registry.
    pub fn voice_registry(&self) -> RedisVoiceRegistry {
        RedisVoiceRegistry::new(self)
    }

    /// Post-call de-duplication: an event is remembered for `retention`.
    pub fn seen_events(&self, retention: Duration) -> RedisSeenEvents {
        RedisSeenEvents::new(self, retention)
    }

    /// The sweep's lease.
    pub fn sweep_lease(&self) -> RedisSweepLease {
        RedisSweepLease::new(self)
    }

    /// A handle on the shared connection (cheap: clones share it).
    pub(super) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// The client, to open connections of another kind (pub/sub).
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    /// `name` under this store's prefix.
    pub(super) fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The prefix itself, for scripts that build keys from stored ids.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The longest expiry handed to Redis: a century. Redis refuses an expiry whose deadline
/// overflows its clock, so an absurd configured duration is capped instead of failing every call.
const LONGEST_EXPIRY_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// A duration as the whole milliseconds Redis expiries take: at least 1 (`PX 0` is an error),
/// at most a century.
pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, LONGEST_EXPIRY_MS)
}

#[async_trait::async_trait]
impl crate::ports::StoreHealth for RedisStore {
    async fn ping(&self) -> Result<(), crate::ports::StoreUnreachable> {
        RedisStore::ping(self)
            .await
            .map_err(|error| crate::ports::StoreUnreachable(error.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_every_supported_scheme_without_connecting_and_refuses_others() {
        for url in [
            "redis://127.0.0.1:6379/0",
            "rediss://user:secret@redis.example:6380",
            "redis+unix:///run/redis/redis.sock",
        ] {
            assert!(RedisStore::open(url, "precall:").is_ok(), "{url}");
        }
        for url in ["http://127.0.0.1:6379", "not a url"] {
            assert!(RedisStore::open(url, "precall:").is_err(), "{url}");
        }
    }

    #[tokio::test]
    async fn its_debug_output_holds_no_password() {
        let store = RedisStore::open("rediss://user:hunter2@redis.example:6380", "precall:");
        let shown = format!("{:?}", store.unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error_not_a_hang_even_over_tls() {
        // Port 1 on loopback refuses at once; over TLS the client config (and its crypto
        // provider) is built before connecting, so this also proves it can be built.
        for url in ["redis://127.0.0.1:1", "rediss://127.0.0.1:1"] {
            let store = RedisStore::open(url, "precall:").unwrap();
            let ping = tokio::time::timeout(Duration::from_secs(15), store.ping()).await;
            assert!(matches!(ping, Ok(Err(_))), "{url}: {ping:?}");
        }
    }

    #[test]
    fn expiries_are_whole_positive_milliseconds_within_what_redis_takes() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), LONGEST_EXPIRY_MS);
    }
}
