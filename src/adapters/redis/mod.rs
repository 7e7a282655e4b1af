//! The Redis adapters: the delivery ledger, the voice registry, post-call de-duplication and
//! the sweep's lease in one shared Redis, so several replicas behave as one service (SPEC,
//! "Several replicas"). Build them all from one URL with [`RedisStore::open`].
//!
//! Every key and channel is under the store's prefix; every state change that reads before it
//! writes is one Lua script (in `lua/`), atomic on the server, so replicas never interleave.

mod connection;
mod entry_codec;
mod events;
mod lease;
mod ledger;
mod outcome_codec;
mod registry;
mod settlements;

pub use connection::{RedisStore, RedisStoreError};
pub use events::RedisSeenEvents;
pub use lease::RedisSweepLease;
pub use ledger::RedisDeliveryLedger;
pub use registry::RedisVoiceRegistry;
