//! Extractors for `POST /webhook` that take the request as raw as it comes: the signature header
//! as text and the body as bytes, read under a size cap and a deadline. Nothing is parsed here:
//! the HMAC must be checked over the exact bytes received before any parser sees them.
//!
//! They never fail on their own: problems travel as values to the handler, which maps them in
//! the one place that knows the error table.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use poem::http::{HeaderMap, header};
use poem::{Request, RequestBody};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaParamIn, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::schema::{PostCallEnvelope, PreCallForm, PreCallPayload};

/// A poem body as the `http_body` body it wraps, for [`read_limited`].
pub(super) type PoemBody = BoxBody<Bytes, std::io::Error>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "elevenlabs-signature";

/// Limits on reading a body, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body accepted, bytes.
    pub max_bytes: u64,
    /// The whole body must arrive within this.
    pub timeout: Duration,
}

/// Why the body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Over the limit (known from `Content-Length`, or found while reading).
    #[error("Request body exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit, bytes.
        limit: u64,
    },
    /// Did not arrive within the deadline.
    #[error("Request body did not arrive within {} s", .timeout.as_secs_f64())]
    TimedOut {
        /// The deadline.
        timeout: Duration,
    },
    /// The connection failed while reading.
    #[error("Request body could not be read: {0}")]
    Unreadable(String),
}

/// The value of the `elevenlabs-signature` header, if present. Documented as a required header;
/// its absence is reported by the handler as `401 INVALID_SIGNATURE`, not as a 400.
pub struct SignatureParam(pub Option<String>);

impl<'a> ApiExtractor<'a> for SignatureParam {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = true;
    type ParamType = String;
    type ParamRawType = String;

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(String::schema_ref())
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(signature_header(request.headers())))
    }
}

/// The raw webhook body with its content type.
pub struct WebhookBody {
    /// The `Content-Type` header, as sent.
    pub content_type: Option<String>,
    /// The bytes, or why they could not be read.
    pub bytes: Result<Bytes, BodyError>,
}

impl<'a> ApiExtractor<'a> for WebhookBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <poem_openapi::payload::Json<PreCallPayload> as Payload>::register(registry);
        <PreCallForm as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![
                MetaMediaType {
                    content_type: "application/json",
                    schema: <poem_openapi::payload::Json<PreCallPayload> as Payload>::schema_ref(),
                },
                MetaMediaType {
                    content_type: "multipart/form-data",
                    schema: <PreCallForm as Payload>::schema_ref(),
                },
            ],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let limits = request.data::<BodyLimits>().copied().ok_or_else(|| {
            poem::Error::from_string(
                "body limits not configured",
                poem::http::StatusCode::INTERNAL_SERVER_ERROR,
            )
        })?;
        Ok(read_request(request, body, limits).await)
    }
}

/// Limits on reading a post-call body (audio events are large), from configuration.
#[derive(Debug, Clone, Copy)]
pub struct PostCallLimits(pub BodyLimits);

/// The raw body of `POST /webhook/post-call`, read under its own cap.
pub struct PostCallBody(pub WebhookBody);

impl<'a> ApiExtractor<'a> for PostCallBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <poem_openapi::payload::Json<PostCallEnvelope> as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: <poem_openapi::payload::Json<PostCallEnvelope> as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let PostCallLimits(limits) =
            request.data::<PostCallLimits>().copied().ok_or_else(|| {
                poem::Error::from_string(
                    "post-call body limits not configured",
                    poem::http::StatusCode::INTERNAL_SERVER_ERROR,
                )
            })?;
        Ok(Self(read_request(request, body, limits).await))
    }
}

/// The content type and the raw bytes of a request, read under `limits`.
async fn read_request(
    request: &Request,
    body: &mut RequestBody,
    limits: BodyLimits,
) -> WebhookBody {
    match body.take() {
        Ok(body) => read_webhook_body(request.headers(), PoemBody::from(body), limits).await,
        Err(e) => WebhookBody {
            content_type: content_type(request.headers()),
            bytes: Err(BodyError::Unreadable(e.to_string())),
        },
    }
}

/// The content type and the raw bytes of a request with `headers`, `body` read under `limits`.
pub(super) async fn read_webhook_body<B>(
    headers: &HeaderMap,
    body: B,
    limits: BodyLimits,
) -> WebhookBody
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    WebhookBody {
        content_type: content_type(headers),
        bytes: read_limited(body, declared_len, limits).await,
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `elevenlabs-signature` header as text, `None` when absent. Non-ASCII bytes survive as
/// U+FFFD so the verifier calls the header malformed, not missing.
pub(super) fn signature_header(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(SIGNATURE_HEADER)?;
    Some(match value.to_str() {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
    })
}

/// The chunks of a body read so far. A body that arrives in one chunk (a webhook of a few
/// hundred KB usually does: it is in the socket before the server reads it) is kept as it came,
/// without a copy; it shares the connection's read buffer until it is dropped. From the second
/// chunk on, the chunks are copied once into one allocation of the announced size.
enum Received {
    Nothing,
    One(Bytes),
    Joined(BytesMut),
}

impl Received {
    /// Adds `chunk`; `capacity` is what to allocate when the chunks must be joined.
    fn add(self, chunk: Bytes, capacity: usize) -> Self {
        match self {
            Self::Nothing => Self::One(chunk),
            Self::One(head) => {
                let mut buffer = BytesMut::with_capacity(capacity);
                buffer.extend_from_slice(&head);
                buffer.extend_from_slice(&chunk);
                Self::Joined(buffer)
            }
            Self::Joined(mut buffer) => {
                buffer.extend_from_slice(&chunk);
                Self::Joined(buffer)
            }
        }
    }
}

/// Reads the whole body, refusing it as soon as it is known to be over the limit (from
/// `Content-Length` before reading anything, or from the bytes so far) and giving up when it
/// does not arrive in time.
pub async fn read_limited<B>(
    body: B,
    declared_len: Option<u64>,
    limits: BodyLimits,
) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let too_large = BodyError::TooLarge {
        limit: limits.max_bytes,
    };
    if declared_len.is_some_and(|len| len > limits.max_bytes) {
        return Err(too_large);
    }
    let read = async {
        let mut received = Received::Nothing;
        let mut total: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(frame) = body.as_mut().frame().await {
            let frame = frame.map_err(|e| BodyError::Unreadable(e.to_string()))?;
            // Trailers carry no body bytes; the signature covers the body alone.
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            total += chunk.len() as u64;
            if total > limits.max_bytes {
                return Err(too_large.clone());
            }
            let capacity = declared_len.unwrap_or(0).clamp(total, limits.max_bytes);
            received = received.add(chunk, usize::try_from(capacity).unwrap_or(0));
        }
        let buffer = match received {
            Received::Nothing => return Ok(Bytes::new()),
            Received::One(chunk) => return Ok(chunk),
            Received::Joined(buffer) => buffer,
        };
        // Without a Content-Length the buffer grew by doubling; an upload must not hold up to
        // twice its size for the rest of the request, so a loose buffer is trimmed once.
        if buffer.capacity() > buffer.len() + buffer.len() / 4 {
            return Ok(Bytes::copy_from_slice(&buffer));
        }
        Ok(buffer.freeze())
    };
    tokio::time::timeout(limits.timeout, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut {
            timeout: limits.timeout,
        }))
}
