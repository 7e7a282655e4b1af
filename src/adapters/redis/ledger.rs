//! The [`DeliveryLedger`] in Redis, shared by every replica: a redelivery to another replica is
//! a replay, and no two replicas handle one conversation at once.
//!
//! One hash per conversation (`{prefix}ledger:{conversation}`: state, fingerprint, token, lease
//! end, outcome; conversation ids cannot hold `:`, so no other key shares that namespace).
//! Claiming and settling are one Lua script each, so the check and the change cannot interleave
//! with another replica's; settling compares the owner's token in the same script. Settled entries expire after the retention (Redis's own expiry), and a sorted set of
//! settlements keeps at most `capacity` of them, the oldest going first — the in-memory ledger's
//! rules, which the contract suite checks for both.
//!
//! Waiters are woken by a `PUBLISH` from the settling script; see [`super::settlements`].

use std::time::Duration;

use ::redis::Script;
use async_trait::async_trait;
use tokio::time::Instant;

use super::connection::{RedisStore, describe, millis};
use super::outcome_codec;
use super::settlements::Settlements;
use crate::domain::{CallOutcome, ConversationId, Fingerprint};
use crate::ports::{Claim, ClaimToken, DeliveryLedger, LedgerError};

/// How often a waiter looks at the entry itself by default, in case a wake-up was lost (pub/sub
/// delivers at most once, and not at all while the listener reconnects).
const FALLBACK_POLL: Duration = Duration::from_millis(250);

const CLAIM: &str = include_str!("lua/ledger_claim.lua");
const SETTLE: &str = include_str!("lua/ledger_settle.lua");

/// How a claim is settled, as the settle script spells it.
enum Settle<'a> {
    Completed(&'a str),
    Uncertain,
    Forget,
}

/// The delivery ledger in Redis. Dropping it stops its pub/sub listener.
pub struct RedisDeliveryLedger {
    store: RedisStore,
    /// How long a settled delivery is remembered (and a vanished owner's claim after its lease).
    retention: Duration,
    /// At most this many settled deliveries are remembered.
    capacity: usize,
    /// How often a waiter looks for itself; see [`RedisDeliveryLedger::with_fallback_poll`].
    fallback_poll: Duration,
    /// The channel the settle script publishes settled conversations on.
    channel: String,
    claim: Script,
    settle: Script,
    /// Forwards the channel's messages to this process's waiters.
    settlements: Settlements,
}

impl RedisDeliveryLedger {
    /// The ledger of `store`; see [`RedisStore::delivery_ledger`]. Starts the pub/sub listener
    /// on the current tokio runtime.
    pub(super) fn new(store: &RedisStore, retention: Duration, capacity: usize) -> Self {
        let channel = store.key("ledger-settled");
        Self {
            settlements: Settlements::listen(store.client().clone(), channel.clone()),
            channel,
            store: store.clone(),
            retention,
            capacity: capacity.max(1),
            fallback_poll: FALLBACK_POLL,
            claim: Script::new(CLAIM),
            settle: Script::new(SETTLE),
        }
    }

    /// How often a waiter looks at the entry itself in case a wake-up was lost (250 ms unless
    /// set). Wake-ups make waiting prompt; this only bounds how late a lost one makes it. Tests
    /// set it long to prove that wake-ups alone wake waiters.
    #[must_use]
    pub fn with_fallback_poll(mut self, every: Duration) -> Self {
        self.fallback_poll = every;
        self
    }

    fn entry_key(&self, conversation_id: &ConversationId) -> String {
        self.store.key(&format!("ledger:{conversation_id}"))
    }

    async fn settle(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        how: Settle<'_>,
    ) -> Result<bool, LedgerError> {
        let (mode, outcome) = match how {
            Settle::Completed(outcome) => ("completed", outcome),
            Settle::Uncertain => ("uncertain", ""),
            Settle::Forget => ("forget", ""),
        };
        let settled: i64 = self
            .settle
            .key(self.entry_key(conversation_id))
            .key(self.store.key("ledger-settlements"))
            .key(self.store.key("ledger-sequence"))
            .arg(token.as_str())
            .arg(mode)
            .arg(outcome)
            .arg(millis(self.retention))
            .arg(self.capacity)
            .arg(conversation_id.as_str())
            .arg(self.store.key("ledger:"))
            .arg(&self.channel)
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|err| LedgerError(describe(&err)))?;
        Ok(settled == 1)
    }

    /// Whether a delivery of `conversation_id` is in flight (its lease may have lapsed: a waiter
    /// waits for a settlement, as with the in-memory ledger).
    async fn in_flight(&self, conversation_id: &ConversationId) -> Result<bool, LedgerError> {
        let state: Option<String> = ::redis::cmd("HGET")
            .arg(self.entry_key(conversation_id))
            .arg("state")
            .query_async(&mut self.store.connection())
            .await
            .map_err(|err| LedgerError(describe(&err)))?;
        Ok(state.as_deref() == Some("inflight"))
    }
}

#[async_trait]
impl DeliveryLedger for RedisDeliveryLedger {
    async fn claim(
        &self,
        conversation_id: &ConversationId,
        fingerprint: Fingerprint,
        lease: Duration,
    ) -> Result<Claim, LedgerError> {
        let token = ClaimToken::new(uuid::Uuid::new_v4().simple().to_string());
        let answer: Vec<String> = self
            .claim
            .key(self.entry_key(conversation_id))
            .arg(hex::encode(fingerprint.0))
            .arg(token.as_str())
            .arg(millis(lease))
            .arg(millis(self.retention))
            .invoke_async(&mut self.store.connection())
            .await
            .map_err(|err| LedgerError(describe(&err)))?;
        match answer.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["claimed", uncertain] => Ok(Claim::Claimed {
                token,
                uncertain: uncertain == "1",
            }),
            ["inflight"] => Ok(Claim::InFlight),
            ["conflict"] => Ok(Claim::Conflict),
            ["completed", outcome] => outcome_codec::decode(outcome)
                .map(Claim::Completed)
                .map_err(LedgerError),
            _ => Err(LedgerError(format!("unexpected claim answer {answer:?}"))),
        }
    }

    async fn complete(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        outcome: &CallOutcome,
    ) -> Result<bool, LedgerError> {
        let outcome = outcome_codec::encode(outcome).map_err(LedgerError)?;
        self.settle(conversation_id, token, Settle::Completed(&outcome))
            .await
    }

    async fn release(
        &self,
        conversation_id: &ConversationId,
        token: &ClaimToken,
        uncertain: bool,
    ) -> Result<bool, LedgerError> {
        let how = if uncertain {
            Settle::Uncertain
        } else {
            Settle::Forget
        };
        self.settle(conversation_id, token, how).await
    }

    async fn wait_settled(&self, conversation_id: &ConversationId, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        // Listening before looking, so a settlement in between is not missed.
        let mut wake_ups = self.settlements.subscribe();
        loop {
            // A failing store ends the wait: the caller's next claim meets the error and says so.
            if !matches!(self.in_flight(conversation_id).await, Ok(true)) {
                return;
            }
            let next_look = deadline.min(Instant::now() + self.fallback_poll);
            tokio::select! {
                () = tokio::time::sleep_until(next_look) => {
                    if Instant::now() >= deadline {
                        return;
                    }
                }
                () = wake_ups.settled(conversation_id.as_str()) => {}
            }
        }
    }
}
