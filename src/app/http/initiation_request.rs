//! Extractors for `POST /webhook/conversation-initiation`: the `Authorization` header as raw
//! bytes (documented as the bearer security scheme Swagger UI's "Authorize" button fills in),
//! and the body left unread, so that a request without the right token costs no read at all.
//! Neither fails on its own: the handler decides, in the one place that knows the answers.

use std::time::Duration;

use poem::http::header;
use poem::{Request, RequestBody};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::body::{BodyError, BodyLimits, PoemBody, read_limited};
use super::initiation_schema::InitiationRequestPayload;

/// Name of the security scheme in the spec.
const SCHEME: &str = "InitiationToken";
/// Largest body read; ElevenLabs sends a few hundred bytes.
pub const INITIATION_MAX_BODY_BYTES: u64 = 64 * 1024;
/// Longest wait for the body (shorter when `REQUEST_BODY_TIMEOUT_SECONDS` is): the phone is
/// ringing, and a body that trickles gets the neutral answer rather than a late one.
const INITIATION_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `Authorization` header, if present.
pub struct InitiationAuth(pub Option<Vec<u8>>);

impl<'a> ApiExtractor<'a> for InitiationAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "`Authorization: Bearer <CONVERSATION_INITIATION_TOKEN>`, configured as a \
                     request header of the agent's conversation-initiation webhook on the \
                     ElevenLabs side (stored there as a workspace secret).",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(
            request
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec()),
        ))
    }
}

/// The body, not read yet.
pub struct InitiationBody {
    body: Option<poem::Body>,
    declared_len: Option<u64>,
    limits: BodyLimits,
}

impl InitiationBody {
    /// Reads the body under the 64 KiB cap and the body deadline.
    pub async fn read(self) -> Result<bytes::Bytes, BodyError> {
        match self.body {
            Some(body) => read_limited(PoemBody::from(body), self.declared_len, self.limits).await,
            None => Err(BodyError::Unreadable("the body was taken".into())),
        }
    }
}

impl<'a> ApiExtractor<'a> for InitiationBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Json<InitiationRequestPayload> as Payload>::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: <Json<InitiationRequestPayload> as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let timeout = request
            .data::<BodyLimits>()
            .map_or(INITIATION_BODY_TIMEOUT, |limits| {
                limits.timeout.min(INITIATION_BODY_TIMEOUT)
            });
        let declared_len = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        Ok(Self {
            body: body.take().ok(),
            declared_len,
            limits: BodyLimits {
                max_bytes: INITIATION_MAX_BODY_BYTES,
                timeout,
            },
        })
    }
}
