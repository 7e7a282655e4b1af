//! Typed groups of settings for the upstream client and the reliability machinery, so the
//! code that uses them takes one small struct rather than the whole `Config`.

use std::time::Duration;

use crate::domain::AgentUpdateMode;
use crate::ports::AgentSettings;

/// How the service treats ElevenLabs: timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// `ELEVENLABS_TIMEOUT_SECONDS`: all upstream work of one webhook, retries included.
    pub deadline: Duration,
    /// `ELEVENLABS_CONNECT_TIMEOUT_SECONDS`: establishing a connection.
    pub connect_timeout: Duration,
    /// `ELEVENLABS_REQUEST_TIMEOUT_SECONDS`: one attempt of one call.
    pub request_timeout: Duration,
    /// `ELEVENLABS_MAX_RETRIES`: retries after the first attempt (429, 5xx, connection errors).
    pub max_retries: u32,
    /// `ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS`: no clone is sent with less time than this left
    /// before the deadline (a create cut off half-way is the kind whose answer is lost).
    pub min_clone_attempt: Duration,
}

/// Protection against redelivery, bursts and a failing upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReliabilitySettings {
    /// `MAX_CONCURRENT_CLONES`: clone requests in flight upstream at once.
    pub max_concurrent_clones: usize,
    /// `CLONE_QUEUE_CAPACITY`: clones that may wait for a slot; more get `503 BUSY` at once.
    pub clone_queue_capacity: usize,
    /// `CLONE_QUEUE_TIMEOUT_SECONDS`: longest wait for a clone slot before `503 BUSY`.
    pub clone_queue_timeout: Duration,
    /// `CIRCUIT_BREAKER_THRESHOLD`: consecutive upstream failures that open the breaker.
    pub breaker_threshold: u32,
    /// `CIRCUIT_BREAKER_COOLDOWN_SECONDS`: how long it stays open before a trial request.
    pub breaker_cool_down: Duration,
    /// `IDEMPOTENCY_RETENTION_SECONDS`: how long a handled conversation is answered from memory.
    pub idempotency_retention: Duration,
    /// `IDEMPOTENCY_MAX_ENTRIES`: most conversations remembered (oldest forgotten first).
    pub idempotency_max_entries: usize,
    /// `MAX_HEADER_BYTES`: total size of request headers before `431`.
    pub max_header_bytes: usize,
}

/// The voice lifecycle: reuse, what marks our clones, and the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleSettings {
    /// `VOICE_REUSE_MAX_AGE_SECONDS`: a caller's clone is reused this long after its last use;
    /// zero never reuses.
    pub reuse_max_age: Duration,
    /// `VOICE_OWNER_TAG`: the `owner` label that marks this deployment's clones.
    pub owner_tag: String,
    /// `VOICE_MAX_LIVE_CLONES`: our own cap on clones kept; zero leaves only the account's.
    pub max_live_clones: usize,
    /// `AGENT_DEFAULT_VOICE_ID`, `AGENT_DEFAULT_FIRST_MESSAGE`: what an agent is put back to
    /// before a clone it speaks with is deleted, instead of what it had before us.
    pub agent_defaults: AgentSettings,
    /// `VOICE_SWEEP_INTERVAL_SECONDS`: time between two sweeps; zero turns the sweep off (the
    /// start-up one included).
    pub sweep_interval: Duration,
    /// `VOICE_ORPHAN_GRACE_SECONDS`: our clones unknown to the registry are deleted only when
    /// older than this.
    pub orphan_grace: Duration,
    /// `MAX_CALL_SECONDS`: a clone bound to a call is released this long after binding even
    /// without its post-call event.
    pub max_call: Duration,
    /// `AGENT_UPDATE_MODE`: PATCH the agent per pre-call webhook, or leave it alone and put the
    /// voice on each call through the conversation-initiation webhook.
    pub agent_update: AgentUpdateMode,
}
