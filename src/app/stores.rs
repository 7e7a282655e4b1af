//! The stores the replicas share: in this process's memory by default (one replica), or in
//! Redis when `REDIS_URL` is set, so any replica answers any webhook. Chosen once, here.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;

use super::config::Config;
use crate::adapters::{
    InMemoryDeliveryLedger, InMemorySeenEvents, InMemorySweepLease, InMemoryVoiceRegistry,
    RedisStore,
};
use crate::ports::{
    DeliveryLedger, SeenEvents, StoreHealth, StoreUnreachable, SweepLease, VoiceRegistry,
};

/// How long a post-call event is remembered: ElevenLabs retries over ~40 minutes.
const SEEN_EVENTS_RETENTION: Duration = Duration::from_secs(2 * 3600);

/// Longest a readiness probe waits for the store.
pub const READY_BUDGET: Duration = Duration::from_secs(2);

/// The delivery ledger, the voice registry, post-call de-duplication and the sweep's lease.
#[derive(Clone)]
pub struct Stores {
    /// Which deliveries were handled.
    pub ledger: Arc<dyn DeliveryLedger>,
    /// Our clones.
    pub registry: Arc<dyn VoiceRegistry>,
    /// Post-call events handled already.
    pub seen: Arc<dyn SeenEvents>,
    /// Which replica sweeps.
    pub lease: Arc<dyn SweepLease>,
    /// The shared store's health, for `/ready`; `None` in memory (always ready).
    pub health: Option<Arc<dyn StoreHealth>>,
}

impl Stores {
    /// Redis when `REDIS_URL` is set, else memory. Keys live under `precall:<VOICE_OWNER_TAG>:`,
    /// so two deployments on one Redis keep apart as they do on one ElevenLabs account. Must be
    /// called inside a tokio runtime; Redis being down now is no error (the replica starts, not
    /// ready, and recovers by itself).
    ///
    /// # Errors
    /// When `REDIS_URL` cannot be opened.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let reliability = &config.reliability;
        let Some(url) = &config.redis_url else {
            return Ok(Self {
                ledger: Arc::new(InMemoryDeliveryLedger::new(
                    reliability.idempotency_retention,
                    reliability.idempotency_max_entries,
                )),
                registry: Arc::new(InMemoryVoiceRegistry::new()),
                seen: Arc::new(InMemorySeenEvents::new(
                    SEEN_EVENTS_RETENTION,
                    reliability.idempotency_max_entries,
                )),
                lease: Arc::new(InMemorySweepLease::new()),
                health: None,
            });
        };
        let prefix = format!("precall:{}:", config.lifecycle.owner_tag);
        let store = RedisStore::open(url.expose_secret(), &prefix)
            .map_err(|e| anyhow::anyhow!(e.0))
            .context("REDIS_URL: cannot open the Redis store")?;
        Ok(Self {
            ledger: Arc::new(store.delivery_ledger(
                reliability.idempotency_retention,
                reliability.idempotency_max_entries,
            )),
            registry: Arc::new(store.voice_registry()),
            seen: Arc::new(store.seen_events(SEEN_EVENTS_RETENTION)),
            lease: Arc::new(store.sweep_lease()),
            health: Some(Arc::new(store)),
        })
    }

    /// Whether the shared store answers within [`READY_BUDGET`] (always, in memory).
    ///
    /// # Errors
    /// [`StoreUnreachable`] when it does not.
    pub async fn ready(&self) -> Result<(), StoreUnreachable> {
        let Some(health) = &self.health else {
            return Ok(());
        };
        tokio::time::timeout(READY_BUDGET, health.ping())
            .await
            .unwrap_or_else(|_| Err(StoreUnreachable("no answer within 2 s".into())))
    }
}
