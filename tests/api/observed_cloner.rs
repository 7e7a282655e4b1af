//! A voice cloner that lets a test watch and hold the clones that reach the platform.
//!
//! It sits where ElevenLabs would (behind the limiter and the breaker) and hands every call on
//! to an [`InMemoryVoiceCloner`]. On the way it counts every call — failed ones too, which the
//! stand-in does not record — tracks how many are in flight at once, and can hold calls at a
//! gate until the test opens it, so "in flight" is a state the test controls instead of a race
//! against a timer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use precall_webhook::adapters::InMemoryVoiceCloner;
use precall_webhook::domain::{ConversationId, VoiceId};
use precall_webhook::ports::{
    CloneRequest, ClonedVoice, FoundVoice, ListedVoice, UpstreamError, VoiceCloner,
};
use tokio::sync::watch;

/// Counts, tracks and optionally holds clone calls before the in-memory stand-in.
pub struct ObservedCloner {
    /// Where the calls go on to: what was cloned, and how to make clones fail or slow.
    pub stand_in: Arc<InMemoryVoiceCloner>,
    /// Clone calls that reached the platform, whatever their outcome.
    calls: AtomicUsize,
    /// Clone calls in flight right now; a watch so a test can wait for a number.
    in_flight: watch::Sender<usize>,
    /// The most clone calls ever in flight at once.
    most_in_flight: AtomicUsize,
    /// `true` while calls may pass; `false` holds them before the stand-in.
    gate: watch::Sender<bool>,
}

/// Counts one call as in flight for as long as it lives, even if the call is cancelled.
struct InFlight<'a>(&'a ObservedCloner);

impl<'a> InFlight<'a> {
    fn enter(cloner: &'a ObservedCloner) -> Self {
        cloner.in_flight.send_modify(|n| {
            *n += 1;
            cloner.most_in_flight.fetch_max(*n, Ordering::AcqRel);
        });
        Self(cloner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.send_modify(|n| *n -= 1);
    }
}

impl ObservedCloner {
    /// An observer with its gate open, in front of a fresh stand-in that succeeds instantly.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            stand_in: Arc::new(InMemoryVoiceCloner::new()),
            calls: AtomicUsize::new(0),
            in_flight: watch::Sender::new(0),
            most_in_flight: AtomicUsize::new(0),
            gate: watch::Sender::new(true),
        })
    }

    /// Holds every following clone call in flight until [`ObservedCloner::open_gate`].
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    /// Lets held and following clone calls through.
    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    /// Clone calls that reached the platform so far, failed ones included.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Acquire)
    }

    /// The most clone calls that were ever in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::Acquire)
    }

    /// Returns once `n` clone calls are in flight at the same time.
    pub async fn wait_for_in_flight(&self, n: usize) {
        let mut in_flight = self.in_flight.subscribe();
        // Not a timing assertion: a guard so that a call that never arrives fails the test
        // instead of hanging it.
        tokio::time::timeout(Duration::from_secs(30), in_flight.wait_for(|now| *now >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} clones in flight within 30 s"))
            .map(|_| ())
            .expect("the observer is alive");
    }
}

#[async_trait]
impl VoiceCloner for ObservedCloner {
    async fn clone_voice(&self, request: CloneRequest<'_>) -> Result<ClonedVoice, UpstreamError> {
        self.calls.fetch_add(1, Ordering::AcqRel);
        let _in_flight = InFlight::enter(self);
        let mut gate = self.gate.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = gate.wait_for(|open| *open).await;
        self.stand_in.clone_voice(request).await
    }

    async fn find_voices(
        &self,
        conversation_id: &ConversationId,
        deadline: Instant,
    ) -> Result<Vec<FoundVoice>, UpstreamError> {
        self.stand_in.find_voices(conversation_id, deadline).await
    }

    async fn list_voices(&self, deadline: Instant) -> Result<Vec<ListedVoice>, UpstreamError> {
        self.stand_in.list_voices(deadline).await
    }

    async fn delete_voice(
        &self,
        voice_id: &VoiceId,
        deadline: Instant,
    ) -> Result<(), UpstreamError> {
        self.stand_in.delete_voice(voice_id, deadline).await
    }
}
