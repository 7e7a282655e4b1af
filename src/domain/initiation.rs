//! The use case: answer ElevenLabs' conversation-initiation webhook at ring time, per call, from
//! the registry alone. The caller's live clone (found by the caller key of `caller_id`) is bound
//! to the call — kept by the sweep until its post-call event, found again by that event — and
//! its voice and greeting go into this call's answer only, so two calls ringing one agent at
//! once never hear each other's voices.
//!
//! Nothing here may fail the call: a non-200 (or a slow answer) can drop the ringing call, so
//! every problem — no number, no clone, no call id, a store that cannot be read — gives the
//! neutral answer, and nothing on this path asks ElevenLabs anything.

use std::sync::Arc;
use std::time::Duration;

use super::{CallId, CallerKeySecret, GreetingTemplate, VoiceId};
use crate::ports::{Clock, VoiceRegistry};

/// How long after its last use a clone made (or reused) for a pre-call webhook can still be
/// bound to a call, even with `VOICE_REUSE_MAX_AGE_SECONDS` shorter (or zero): the pre-call
/// webhook comes before the phone rings, and its clone must reach that call.
pub const RING_WINDOW: Duration = Duration::from_secs(300);

/// What ElevenLabs asked at ring time, as far as it could be read. Every field is optional:
/// a body that does not parse is simply a request with nothing in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitiationRequest {
    /// `caller_id`: the caller's number.
    pub caller_id: Option<String>,
    /// `call_sid` (Twilio), else `call_id` (SIP), when it is a valid call id.
    pub call: Option<CallId>,
}

/// The per-call override: the caller's clone and, when their name is known, the greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOverride {
    /// `tts.voice_id`.
    pub voice_id: VoiceId,
    /// `agent.first_message`, rendered from the greeting template; `None` without a name.
    pub first_message: Option<String>,
}

/// The answer for one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitiationAnswer {
    /// The caller's name, when a clone with a name was found.
    pub caller_name: Option<String>,
    /// The override, only with a live clone for the caller.
    pub voice: Option<CallOverride>,
}

impl InitiationAnswer {
    /// The neutral answer: no name, no override.
    pub fn neutral() -> Self {
        Self::default()
    }
}

/// How the use case is tuned; from configuration.
#[derive(Debug, Clone)]
pub struct InitiationSettings {
    /// Makes caller keys from `caller_id`, exactly as the pre-call webhook does.
    pub caller_keys: CallerKeySecret,
    /// The greeting template (`{name}` is the caller's name).
    pub greeting: GreetingTemplate,
    /// `VOICE_REUSE_MAX_AGE_SECONDS`: a caller's clone is served this long after its last use
    /// (at least [`RING_WINDOW`]).
    pub reuse_max_age: Duration,
}

/// The use case. Cheap to share; holds no per-request state.
pub struct AnswerInitiation {
    registry: Arc<dyn VoiceRegistry>,
    clock: Arc<dyn Clock>,
    settings: InitiationSettings,
}

impl AnswerInitiation {
    /// Builds the use case over the registry and the clock.
    pub fn new(
        registry: Arc<dyn VoiceRegistry>,
        clock: Arc<dyn Clock>,
        settings: InitiationSettings,
    ) -> Self {
        Self {
            registry,
            clock,
            settings,
        }
    }

    /// Binds the caller's live clone to the call and answers with it; the same call asked
    /// again gets the clone it was bound to. Neutral without a caller key, a call id, or a
    /// clone, and when the registry cannot be read (logged; the call goes on unpersonalised).
    pub async fn answer(&self, request: &InitiationRequest) -> InitiationAnswer {
        let Some(caller_key) = request
            .caller_id
            .as_deref()
            .and_then(|number| self.settings.caller_keys.key_of(number))
        else {
            tracing::debug!("no caller number: neutral answer");
            return InitiationAnswer::neutral();
        };
        // Without a call id the clone could not be bound: the sweep might delete it mid-call
        // and no post-call event could find it. ElevenLabs sends one for every phone call.
        let Some(call) = &request.call else {
            tracing::warn!("conversation initiation without call_sid or call_id: neutral answer");
            return InitiationAnswer::neutral();
        };
        let window = self.settings.reuse_max_age.max(RING_WINDOW);
        let window = i64::try_from(window.as_secs()).unwrap_or(i64::MAX);
        let now = self.clock.now_unix();
        let entry = match self
            .registry
            .bind_call(&caller_key, now.saturating_sub(window), call, now)
            .await
        {
            Ok(Some(entry)) => entry,
            Ok(None) => return InitiationAnswer::neutral(),
            Err(error) => {
                tracing::error!(%error, "cannot read the voice registry: neutral answer");
                return InitiationAnswer::neutral();
            }
        };
        let first_message = entry
            .caller_name
            .as_deref()
            .map(|name| self.settings.greeting.render(name));
        InitiationAnswer {
            caller_name: entry.caller_name,
            voice: Some(CallOverride {
                voice_id: entry.voice_id,
                first_message,
            }),
        }
    }
}
