//! The domain: pure types parsed at the edge and the clone-and-personalise use case.
//! No HTTP framework, no HTTP client, no async runtime I/O and no disk in here.

mod audio_lengths;
mod caller;
mod delivery;
mod event;
mod greeting;
mod identifiers;
mod personalise;
mod signature;
pub mod voice_sample;

pub use caller::{CallerError, CallerInfo, CallerMetadata};
pub use delivery::{Deliveries, Delivery, DeliveryError, DeliverySettings, DeliveryTicket};
pub use event::{
    EventError, Fingerprint, PRE_CALL_EVENT_TYPE, PreCallEvent, RawPreCallEvent, SampleUpload,
};
pub use greeting::{
    GreetingTemplate, GreetingTemplateError, NAME_PLACEHOLDER, UtcDateTime, VoiceName,
};
pub use identifiers::{AgentId, ConversationId, IdError, VoiceId};
pub use personalise::{
    CallOutcome, NewVoice, PersonaliseCall, PersonaliseError, PersonalisePorts,
    PersonaliseSettings, PreparedCall, ROLLBACK_BUDGET, Rollback,
};
pub use signature::{
    EmptySecret, SIGNATURE_TOLERANCE_SECONDS, SignatureError, SignatureHeader, WebhookSecret,
};
pub use voice_sample::{AudioFormat, SampleLimits, VoiceSample, VoiceSampleError};
