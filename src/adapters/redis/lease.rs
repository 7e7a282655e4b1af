//! The [`SweepLease`] in Redis: one key holding the holder's id with an expiry, so one replica
//! sweeps at a time and a replica that dies mid-sweep hands over when its lease lapses.
//! Acquiring (or renewing) and releasing compare the holder in the same Lua script, so a holder
//! whose lease lapsed can never extend or delete the lease another replica has taken since.

use std::time::Duration;

use ::redis::Script;
use async_trait::async_trait;

use super::connection::{RedisStore, describe, millis};
use crate::ports::{LeaseError, LeaseHolder, SweepLease};

/// Takes the free lease or renews one's own. KEYS[1] the lease, ARGV[1] holder, ARGV[2] ttl ms.
const ACQUIRE: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Gives up one's own lease. KEYS[1] the lease, ARGV[1] holder.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// The sweep lease in Redis.
pub struct RedisSweepLease {
    store: RedisStore,
    acquire: Script,
    release: Script,
}

impl RedisSweepLease {
    /// The lease of `store`; see [`RedisStore::sweep_lease`].
    pub(super) fn new(store: &RedisStore) -> Self {
        Self {
            store: store.clone(),
            acquire: Script::new(ACQUIRE),
            release: Script::new(RELEASE),
        }
    }
}

#[async_trait]
impl SweepLease for RedisSweepLease {
    async fn try_acquire(&self, holder: &LeaseHolder, ttl: Duration) -> Result<bool, LeaseError> {
        let held: i64 = self
            .acquire
            .key(self.store.key("sweep-lease"))
            .arg(holder.as_str())
            .arg(millis(ttl))
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|err| LeaseError(describe(&err)))?;
        Ok(held == 1)
    }

    async fn release(&self, holder: &LeaseHolder) -> Result<bool, LeaseError> {
        let released: i64 = self
            .release
            .key(self.store.key("sweep-lease"))
            .arg(holder.as_str())
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|err| LeaseError(describe(&err)))?;
        Ok(released == 1)
    }
}
