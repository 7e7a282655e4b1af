//! How the spec documents the error responses of `POST /webhook`: under each status, the codes
//! that status carries, with a realistic example of each — so an integrator reading Swagger UI
//! sees `INVALID_SIGNATURE` under 401 rather than one generic example under every status, and a
//! client generated from the spec knows which codes to expect where.
//!
//! Documentation only: [`ErrorsOf`] names the schema of a response (`actual_type` on
//! `WebhookResponse`); the bytes sent are always an [`ErrorBody`].

use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};

use super::schema::{ErrorBody, ErrorCode};

/// One documented error: its code and what a sender could see.
#[derive(Debug, Clone, Copy)]
pub struct ErrorExample {
    /// The table row.
    pub code: ErrorCode,
    /// A message as the service writes it.
    pub message: &'static str,
    /// `Some` when the conversation is known by the time this error can happen.
    pub conversation_id: Option<&'static str>,
}

impl ErrorExample {
    const fn new(
        code: ErrorCode,
        message: &'static str,
        conversation_id: Option<&'static str>,
    ) -> Self {
        Self {
            code,
            message,
            conversation_id,
        }
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            status: "error".into(),
            error_code: self.code,
            error_message: self.message.into(),
            conversation_id: self.conversation_id.map(str::to_owned),
        }
    }
}

const CONVERSATION: Option<&str> = Some("conv_abc123xyz");

/// The codes `POST /webhook` answers with `status`, one example each (empty for a status the
/// webhook does not answer with).
pub fn examples(status: u16) -> &'static [ErrorExample] {
    use ErrorCode::*;
    match status {
        400 => {
            const {
                &[
                    ErrorExample::new(
                        InvalidPayload,
                        "Invalid JSON body: missing field `conversation_id` at line 1 column 52",
                        None,
                    ),
                    ErrorExample::new(
                        InvalidVoiceSample,
                        "Voice sample too short: 1.2 s (min 3.0 s)",
                        CONVERSATION,
                    ),
                ]
            }
        }
        401 => {
            const {
                &[ErrorExample::new(
                    InvalidSignature,
                    "Signature does not match the request body",
                    None,
                )]
            }
        }
        408 => {
            const {
                &[ErrorExample::new(
                    RequestTimeout,
                    "Request body did not arrive within 30 s",
                    None,
                )]
            }
        }
        409 => {
            const {
                &[ErrorExample::new(
                    DuplicateConversation,
                    "conversation_id conv_abc123xyz was already delivered with a different body",
                    CONVERSATION,
                )]
            }
        }
        413 => {
            const {
                &[ErrorExample::new(
                    PayloadTooLarge,
                    "Request body exceeds the limit of 18398873 bytes",
                    None,
                )]
            }
        }
        422 => {
            const {
                &[
                    ErrorExample::new(
                        VoiceCloningFailed,
                        "Voice cloning failed: voice_limit_reached: You have reached your maximum amount of custom voices",
                        CONVERSATION,
                    ),
                    ErrorExample::new(
                        AgentUpdateFailed,
                        "Agent update failed: HTTP 404 Not Found",
                        CONVERSATION,
                    ),
                ]
            }
        }
        431 => {
            const {
                &[ErrorExample::new(
                    HeadersTooLarge,
                    "Request headers total 17408 bytes (max 16384)",
                    None,
                )]
            }
        }
        500 => {
            const {
                &[ErrorExample::new(
                    InternalError,
                    "Internal error; the service log has the details",
                    CONVERSATION,
                )]
            }
        }
        502 => {
            const {
                &[ErrorExample::new(
                    UpstreamUnavailable,
                    "Voice cloning failed: clone voice: ElevenLabs still failing after 4 attempts: HTTP 503 Service Unavailable",
                    CONVERSATION,
                )]
            }
        }
        503 => {
            const {
                &[
                    ErrorExample::new(
                        Busy,
                        "Voice cloning failed: Too many voice clones in flight; retry in 10 s",
                        CONVERSATION,
                    ),
                    ErrorExample::new(
                        StoreUnavailable,
                        "The shared store cannot be reached; nothing was done, retry shortly",
                        CONVERSATION,
                    ),
                ]
            }
        }
        _ => &[],
    }
}

/// The codes `POST /webhook/conversation-initiation` answers with `status` (it answers `200`
/// to everything else once authenticated).
pub fn initiation_examples(status: u16) -> &'static [ErrorExample] {
    use ErrorCode::*;
    match status {
        401 => {
            const {
                &[ErrorExample::new(
                    Unauthorized,
                    "Missing or wrong bearer token in the Authorization header",
                    None,
                )]
            }
        }
        404 => {
            const {
                &[ErrorExample::new(
                    NotFound,
                    "The conversation-initiation webhook is off (CONVERSATION_INITIATION_TOKEN is not set)",
                    None,
                )]
            }
        }
        _ => &[],
    }
}

/// Which endpoint's examples an [`ErrorsOf`] documents: `POST /webhook`'s.
pub const WEBHOOK: u8 = 0;
/// Which endpoint's examples an [`ErrorsOf`] documents: the conversation-initiation webhook's.
pub const INITIATION: u8 = 1;

/// The body of an error answered with `STATUS` by the endpoint `ENDPOINT` ([`WEBHOOK`] or
/// [`INITIATION`]): an [`ErrorBody`] whose `error_code` is one of the codes of that status.
/// With several codes, the schema is a `oneOf` with one branch per code, each with its own
/// example.
pub struct ErrorsOf<const STATUS: u16, const ENDPOINT: u8 = WEBHOOK>;

impl<const STATUS: u16, const ENDPOINT: u8> Payload for ErrorsOf<STATUS, ENDPOINT> {
    const CONTENT_TYPE: &'static str = <Json<ErrorBody> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        let examples = match ENDPOINT {
            INITIATION => initiation_examples(STATUS),
            _ => examples(STATUS),
        };
        let mut branches: Vec<MetaSchemaRef> = examples.iter().map(branch).collect();
        match branches.len() {
            0 => ErrorBody::schema_ref(),
            1 => branches.remove(0),
            _ => MetaSchemaRef::Inline(Box::new(MetaSchema {
                one_of: branches,
                ..MetaSchema::ANY
            })),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }
}

/// `ErrorBody` with `error_code` narrowed to `example.code`, and the example.
fn branch(example: &ErrorExample) -> MetaSchemaRef {
    let code = example.code.to_json();
    let title = match &code {
        Some(serde_json::Value::String(name)) => Some(name.clone()),
        _ => None,
    };
    // No `type` here: this part only narrows one property of the `ErrorBody` it is combined
    // with, and must not read as an object schema of its own.
    let narrowed = MetaSchema {
        properties: vec![(
            "error_code",
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                enum_items: code.into_iter().collect(),
                ..MetaSchema::ANY
            })),
        )],
        ..MetaSchema::ANY
    };
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        title,
        all_of: vec![
            ErrorBody::schema_ref(),
            MetaSchemaRef::Inline(Box::new(narrowed)),
        ],
        example: example.body().to_json(),
        ..MetaSchema::ANY
    }))
}
