//! Slots: an account holds few custom voices. When ElevenLabs answers `voice_limit_reached`, or
//! our own clones reach `VOICE_MAX_LIVE_CLONES`, the least recently used clone of ours that is
//! not in a call is retired (its agent put back first when it speaks with it) to make room — at
//! most one eviction and one more clone per webhook. The monthly add/edit budget is another
//! matter: deleting does not refund it, so it frees nothing (it arrives as a plain refusal).

use super::Retired;
use super::personalise::PersonaliseCall;
use crate::ports::UpstreamError;

/// Candidates tried, least recently used first, when one cannot be retired (its agent speaks
/// with it and cannot be put back).
const MAX_CANDIDATES: usize = 3;

impl PersonaliseCall {
    /// Whether our own cap (`VOICE_MAX_LIVE_CLONES`) leaves room for one more clone, making
    /// room when it does not; `Ok(true)` when a clone of ours was evicted for it.
    ///
    /// # Errors
    /// [`UpstreamError::VoiceLimitReached`] when the cap is reached and nothing could be freed.
    pub(super) async fn room_under_own_cap(&self) -> Result<bool, UpstreamError> {
        let cap = self.settings.max_live_clones;
        if cap == 0 {
            return Ok(false);
        }
        let count = match self.ports.registry.count().await {
            Ok(count) => count,
            Err(error) => {
                tracing::error!(%error, "cannot count our clones; cloning without checking VOICE_MAX_LIVE_CLONES");
                return Ok(false);
            }
        };
        if count < cap {
            return Ok(false);
        }
        if self.make_room().await {
            return Ok(true);
        }
        Err(UpstreamError::VoiceLimitReached(format!(
            "VOICE_MAX_LIVE_CLONES ({cap}) reached and every clone of ours is in a call or in use"
        )))
    }

    /// Retires our least recently used clone that is not in a call; `true` when one was
    /// deleted.
    pub(super) async fn make_room(&self) -> bool {
        let mut candidates = match self.ports.registry.entries().await {
            Ok(entries) => entries,
            Err(error) => {
                tracing::error!(%error, "cannot read the registry; nothing evicted");
                return false;
            }
        };
        candidates.retain(|entry| !entry.in_call());
        candidates.sort_by_key(|entry| (entry.last_used, entry.created_at));
        for entry in candidates.into_iter().take(MAX_CANDIDATES) {
            match self.retirement.retire(&entry.voice_id).await {
                Retired::Deleted => {
                    tracing::info!(voice_id = %entry.voice_id, reason = "evicted", "evicted our least recently used clone to make room");
                    return true;
                }
                // Out of the registry and the account may still hold it: no slot freed for sure.
                Retired::DeleteFailed => return false,
                Retired::NotTaken | Retired::KeptInUse => {}
            }
        }
        false
    }
}
