//! The wire shapes of `/webhook` and `/health`, as integrators see them in the OpenAPI spec.
//! Request bodies are parsed by `payload` (borrowing from the raw body); a test there checks
//! that every field documented here is one it reads.

use poem_openapi::{Enum, Multipart, Object, types::multipart::Upload};

/// A pre-call webhook: sent before a voice-agent call starts.
#[derive(Debug, Object)]
#[oai(example)]
pub struct PreCallPayload {
    /// Always `pre_call`.
    #[oai(rename = "type")]
    pub event_type: String,
    /// When the event happened, unix seconds.
    pub event_timestamp: Option<i64>,
    /// The conversation about to start: 1–128 characters of `[A-Za-z0-9_-]`. A delivery is
    /// identified by it.
    pub conversation_id: String,
    /// The agent that takes the call (1–128 characters of `[A-Za-z0-9_-]`); its voice and
    /// greeting are set for this caller.
    pub agent_id: String,
    /// Who is calling; every field is optional.
    pub caller_metadata: Option<CallerMetadataPayload>,
    /// A few seconds of the caller's voice (JSON bodies only; multipart bodies send it as a
    /// file part).
    // Skipped rather than `null` in the example Swagger UI offers: the field is optional, and
    // the documented schema does not say it may be `null`.
    #[oai(skip_serializing_if_is_none)]
    pub voice_sample: Option<VoiceSamplePayload>,
}

impl poem_openapi::types::Example for PreCallPayload {
    fn example() -> Self {
        Self {
            event_type: "pre_call".into(),
            event_timestamp: Some(1_702_425_485),
            conversation_id: "conv_abc123xyz".into(),
            agent_id: "agent_def456uvw".into(),
            caller_metadata: Some(CallerMetadataPayload {
                name: Some("Ivan".into()),
                date_of_birth: Some("11.12.2007".into()),
                phone_number: Some("+31612345678".into()),
            }),
            voice_sample: None,
        }
    }
}

/// The caller's details.
#[derive(Debug, Object)]
pub struct CallerMetadataPayload {
    /// The caller's name (at most 100 characters); used in the greeting and the voice name.
    pub name: Option<String>,
    /// The caller's date of birth, free text (at most 32 characters), echoed back.
    pub date_of_birth: Option<String>,
    /// The caller's phone number (at most 32 characters); never echoed back or logged.
    pub phone_number: Option<String>,
}

/// The caller's voice, base64-encoded. WAV, MP3, OGG Vorbis or FLAC; the format and
/// duration are measured from the audio itself.
#[derive(Debug, Object)]
pub struct VoiceSamplePayload {
    /// Encoding of `data`; only `base64` (the default).
    pub format: Option<String>,
    /// The audio file, base64 (standard alphabet, padding optional).
    pub data: String,
    /// The sender's claim of the duration, seconds. Informational: the measured value is used.
    pub duration_seconds: Option<f64>,
    /// The sender's claim of the sample rate, Hz. Informational.
    pub sample_rate: Option<u32>,
}

/// The multipart form of the same webhook.
// Documentation only: the body is parsed from the raw, signature-checked bytes by `payload`,
// so poem-openapi never fills this struct in.
#[allow(dead_code)]
#[derive(Debug, Multipart)]
pub struct PreCallForm {
    /// The JSON of a pre-call webhook without `voice_sample`.
    pub metadata: String,
    /// The audio file (WAV, MP3, OGG Vorbis or FLAC), detected from its bytes.
    pub voice_sample: Option<Upload>,
}

/// The webhook was handled: the voice is cloned and the agent personalised.
#[derive(Debug, Object)]
pub struct WebhookSuccess {
    /// Always `success`.
    pub status: String,
    /// The conversation, as sent.
    pub conversation_id: String,
    /// The voice put on the call (cloned now, or the caller's clone reused); `null` when no
    /// sample was sent and the caller has no clone to reuse.
    #[oai(nullable)]
    pub voice_id: Option<String>,
    /// The voice's name, `{Name}_Clone_{YYYYMMDD}_{HHMMSS}` (UTC); `null` with `voice_id`.
    #[oai(nullable)]
    pub voice_name: Option<String>,
    /// Whether the agent was changed (`false` when there was nothing to change: no sample and
    /// no name).
    pub agent_updated: bool,
    /// `true` when the voice is the caller's existing clone (a repeat caller within
    /// `VOICE_REUSE_MAX_AGE_SECONDS`): nothing was cloned and the new sample, if any, was not
    /// sent anywhere.
    pub voice_reused: bool,
    /// The caller's details, for the agent; the phone number is never echoed.
    pub caller_info: CallerInfoPayload,
    /// Time spent handling the webhook, milliseconds.
    pub processing_time_ms: u64,
}

/// The caller's details as returned.
#[derive(Debug, Object)]
pub struct CallerInfoPayload {
    /// The caller's name, when given.
    #[oai(rename = "Name", skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// The caller's date of birth, when given.
    #[oai(rename = "DateOfBirth", skip_serializing_if_is_none)]
    pub date_of_birth: Option<String>,
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Body is not valid JSON / multipart, a field is missing, of the wrong type or breaks its
    /// rule, bad base64, wrong `type`.
    InvalidPayload,
    /// The sample is too short, too large, not audio, or undecodable.
    InvalidVoiceSample,
    /// The `elevenlabs-signature` header is missing, malformed, wrong, or outside ±30 minutes.
    InvalidSignature,
    /// The conversation-initiation webhook was called without the right bearer token.
    Unauthorized,
    /// The body did not arrive in time.
    RequestTimeout,
    /// The `conversation_id` was already delivered with a different body.
    DuplicateConversation,
    /// The body is over the size limit.
    PayloadTooLarge,
    /// ElevenLabs refused the clone; the message carries its reason.
    VoiceCloningFailed,
    /// ElevenLabs refused the agent update; the new voice was deleted again.
    AgentUpdateFailed,
    /// ElevenLabs is unreachable, timing out, or failing (or known to be down: the circuit
    /// breaker is open).
    UpstreamUnavailable,
    /// Too many clones in flight; `Retry-After` says when to retry.
    Busy,
    /// The shared store (Redis) cannot be reached; `Retry-After` says when to retry. Nothing
    /// was cloned.
    StoreUnavailable,
    /// The request headers are larger than the limit.
    HeadersTooLarge,
    /// No endpoint at this path (answered for any path the spec does not list).
    NotFound,
    /// The path exists but does not take this method (`GET /webhook`, say).
    MethodNotAllowed,
    /// Anything else; details are in the service's logs.
    InternalError,
}

impl ErrorCode {
    /// The code as the wire spells it (`INVALID_PAYLOAD`…), from a fixed set: fit for a metric
    /// label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidPayload => "INVALID_PAYLOAD",
            Self::InvalidVoiceSample => "INVALID_VOICE_SAMPLE",
            Self::InvalidSignature => "INVALID_SIGNATURE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::DuplicateConversation => "DUPLICATE_CONVERSATION",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::VoiceCloningFailed => "VOICE_CLONING_FAILED",
            Self::AgentUpdateFailed => "AGENT_UPDATE_FAILED",
            Self::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            Self::Busy => "BUSY",
            Self::StoreUnavailable => "STORE_UNAVAILABLE",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// Every error has this shape.
#[derive(Debug, Object)]
pub struct ErrorBody {
    /// Always `error`.
    pub status: String,
    /// What went wrong, for machines.
    pub error_code: ErrorCode,
    /// What went wrong, for people.
    pub error_message: String,
    /// The conversation, when it was known before the error; `null` otherwise.
    #[oai(nullable)]
    pub conversation_id: Option<String>,
}

/// Liveness answer.
#[derive(Debug, Object)]
pub struct Health {
    /// Always `healthy`.
    pub status: String,
    /// Always `elevenlabs-precall-webhook`.
    pub service: String,
}

/// A post-call webhook as ElevenLabs sends it. Only `type` is required; `data` carries the
/// conversation (`conversation_id`, `metadata.phone_call.call_sid` / `call_id`, for failures
/// `metadata.body.call_sid` / `CallSid`, and `conversation_initiation_client_data`); everything
/// else in it is ignored.
#[derive(Debug, Object)]
pub struct PostCallEnvelope {
    /// `post_call_transcription`, `post_call_transcription_otel`, `call_initiation_failure`,
    /// `post_call_audio`, or a type this service does not know (answered `200`, ignored).
    #[oai(rename = "type")]
    pub event_type: String,
    /// When the event was sent, unix seconds, as a number or a string. With `type` and
    /// `data.conversation_id` it identifies the event: the same three again are a duplicate.
    pub event_timestamp: Option<serde_json::Value>,
    /// The event's data.
    pub data: Option<serde_json::Value>,
}

/// What a post-call event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PostCallAction {
    /// The call's clone served that conversation alone: it is being deleted (in the background,
    /// after putting the agent back if it speaks with it).
    Released,
    /// The call's clone belongs to a caller: kept for reuse until `VOICE_REUSE_MAX_AGE_SECONDS`
    /// after its last use.
    Kept,
    /// No clone of ours served the call.
    None,
    /// An event type that ends no call (`post_call_audio`, unknown types).
    Ignored,
    /// The same (`type`, `conversation_id`, `event_timestamp`) was handled already.
    Duplicate,
}

/// The post-call webhook was accepted.
#[derive(Debug, Object)]
pub struct PostCallAnswer {
    /// Always `ok`.
    pub status: String,
    /// What was done.
    pub action: PostCallAction,
}
