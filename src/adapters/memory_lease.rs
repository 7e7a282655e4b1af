//! A [`SweepLease`] in this process's memory. With one replica it is always free for that
//! replica's sweep; it is still a real lease (one holder, expiry, holder-checked release), so the
//! contract suite holds for it as for the shared one, and two sweeps inside one process — the
//! periodic one and `voices sweep` — could not overlap either.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::ports::{LeaseError, LeaseHolder, SweepLease};

/// The lease, held by at most one holder until `until`. Tokio's clock, so tests can pause time.
#[derive(Default)]
pub struct InMemorySweepLease {
    held: Mutex<Option<(LeaseHolder, Instant)>>,
}

impl InMemorySweepLease {
    /// A lease nobody holds.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SweepLease for InMemorySweepLease {
    async fn try_acquire(&self, holder: &LeaseHolder, ttl: Duration) -> Result<bool, LeaseError> {
        let now = Instant::now();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let free = match &*held {
            None => true,
            Some((current, until)) => current == holder || *until <= now,
        };
        if free {
            *held = Some((holder.clone(), now + ttl));
        }
        Ok(free)
    }

    async fn release(&self, holder: &LeaseHolder) -> Result<bool, LeaseError> {
        let now = Instant::now();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        // A lapsed lease is nobody's: its former holder has nothing left to release.
        let holds = matches!(&*held, Some((current, until)) if current == holder && *until > now);
        if holds {
            *held = None;
        }
        Ok(holds)
    }
}
