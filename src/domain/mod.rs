//! The domain: pure types parsed at the edge, and the use cases — personalise a call exactly
//! once, deliver once, clean up after a failed delivery. No HTTP framework, no HTTP client, no
//! codec library, no runtime I/O and no disk in here; time comes from the `Clock` port.

mod agent_update;
mod bearer_token;
mod call_id;
mod caller;
mod caller_key;
mod cleanup;
mod delivery;
mod event;
mod greeting;
mod identifiers;
mod initiation;
mod obtain_voice;
mod outcome;
mod personalise;
mod release;
mod retire;
mod retry_policy;
mod reuse;
mod signature;
mod slots;
mod sweep;
pub mod voice_sample;

pub use bearer_token::{BearerToken, BearerTokenError, MAX_TOKEN_CHARS, MIN_TOKEN_CHARS};
pub use call_id::{CallId, MAX_CALL_ID_LEN};
pub use caller::{CallerError, CallerInfo, CallerMetadata};
pub use caller_key::{CallerKey, CallerKeySecret};
pub use cleanup::{Cleanup, CleanupOutcome, CleanupSettings, CleanupTarget};
pub use delivery::{
    Deliveries, Delivery, DeliveryError, DeliverySettings, DeliveryTicket, Settlement,
};
pub use event::{
    EventError, Fingerprint, PRE_CALL_EVENT_TYPE, PreCallEvent, RawPreCallEvent, SampleUpload,
};
pub use greeting::{
    GreetingTemplate, GreetingTemplateError, NAME_PLACEHOLDER, UtcDateTime, VoiceName,
};
pub use identifiers::{AgentId, ConversationId, IdError, VoiceId};
pub use initiation::{
    AnswerInitiation, CallOverride, InitiationAnswer, InitiationRequest, InitiationSettings,
    RING_WINDOW,
};
pub use outcome::{CallOutcome, Failure, NewVoice, PersonaliseError, Rollback};
pub use personalise::{
    AgentUpdateMode, PersonaliseCall, PersonalisePorts, PersonaliseSettings, Personalised,
    PreparedCall, ROLLBACK_BUDGET,
};
pub use release::{CallEnded, PostCallKind, Release, ReleaseAfterCall};
pub use retire::{Retired, Retirement};
pub use retry_policy::RetryPolicy;
pub use signature::{
    EmptySecret, SIGNATURE_TOLERANCE_SECONDS, SignatureError, SignatureHeader, WebhookSecret,
};
pub use sweep::{
    InventoryItem, SWEEP_CALL_BUDGET, Sweep, SweepAction, SweepError, SweepPorts, SweepReason,
    SweepReport, SweepSettings, SweptVoice,
};
pub use voice_sample::{AudioFormat, Measurement, SampleLimits, VoiceSample, VoiceSampleError};
