//! Adapters: one implementation per backend for the traits in `crate::ports`. Adapters depend
//! on ports and domain only, never on each other or on `app`.

pub mod disk_store;
pub mod elevenlabs;
pub mod memory;
pub mod memory_cloner;
pub mod memory_events;
pub mod memory_lease;
pub mod memory_ledger;
pub mod memory_registry;
pub mod metered;
pub mod redis;
pub mod resilience;
pub mod symphonia_probe;
pub mod system_clock;

pub use disk_store::DiskSampleStore;
pub use memory::{InMemoryAgentConfigurator, InMemorySampleStore, KeptSample, RecordedAgentUpdate};
pub use memory_cloner::{InMemoryVoiceCloner, RecordedClone};
pub use memory_events::InMemorySeenEvents;
pub use memory_lease::InMemorySweepLease;
pub use memory_ledger::InMemoryDeliveryLedger;
pub use memory_registry::InMemoryVoiceRegistry;
pub use metered::{MeteredAgentConfigurator, MeteredVoiceCloner, UpstreamMetrics};
pub use redis::{
    RedisDeliveryLedger, RedisSeenEvents, RedisStore, RedisStoreError, RedisSweepLease,
    RedisVoiceRegistry,
};
pub use symphonia_probe::SymphoniaProbe;
pub use system_clock::SystemClock;
