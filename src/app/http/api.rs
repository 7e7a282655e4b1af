//! The HTTP surface — `/health`, `/ready`, `/metrics`, `/webhook`, `/webhook/post-call` and
//! `/webhook/conversation-initiation` — documented for the OpenAPI spec.
//! Handlers only convert: HTTP request → application service → HTTP response.

use std::sync::Arc;
use std::time::Instant;

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{OpenApi, Tags};
use tracing::Instrument;

use super::body::{PostCallBody, SignatureParam, WebhookBody};
use super::errors::{ApiError, WebhookResponse};
use super::initiation_payload::parse_initiation;
use super::initiation_request::{InitiationAuth, InitiationBody};
use super::initiation_response::{InitiationResponse, answer_payload};
use super::metrics_response::MetricsResponse;
use super::post_call_response::PostCallResponse;
use super::ready::ReadyResponse;
use super::refusal_log::REFUSALS;
use super::schema::{Health, PostCallAction, PostCallAnswer};
use super::success_json::SuccessJson;
use crate::app::service::{
    Handled, InitiationService, MetricsService, PostCallOutcome, PostCallService, PreCallService,
    SignedBody,
};
use crate::app::stores::Stores;

/// The service name reported by `/health`.
pub const SERVICE_NAME: &str = "elevenlabs-precall-webhook";

#[derive(Tags)]
enum ApiTags {
    /// ElevenLabs pre-call webhook.
    Webhook,
    /// Operations.
    Health,
}

/// What the handlers need.
#[derive(Clone)]
pub struct WebhookApi {
    /// The pre-call webhook's application service.
    pub pre_call: Arc<PreCallService>,
    /// The post-call webhook's application service.
    pub post_call: Arc<PostCallService>,
    /// The conversation-initiation webhook's application service.
    pub initiation: Arc<InitiationService>,
    /// The stores, asked by `/ready`.
    pub stores: Stores,
    /// Builds the `/metrics` exposition.
    pub metrics: Arc<MetricsService>,
}

#[OpenApi]
impl WebhookApi {
    /// Liveness check
    ///
    /// Answers `200` while the process is up and serving.
    #[oai(path = "/health", method = "get", tag = "ApiTags::Health")]
    async fn health(&self) -> Json<Health> {
        Json(Health {
            status: "healthy".into(),
            service: SERVICE_NAME.into(),
        })
    }

    /// Metrics for Prometheus
    ///
    /// Requests by endpoint and outcome, upstream calls to ElevenLabs by operation and outcome,
    /// latencies (seconds), live clones, reuses, deletions by reason, the circuit breaker's state
    /// and the clone queue, in the Prometheus text format (`text/plain; version=0.0.4`). No
    /// authentication: expose it to your monitoring network only. The README lists every series.
    #[oai(path = "/metrics", method = "get", tag = "ApiTags::Health")]
    async fn metrics(&self) -> MetricsResponse {
        match self.metrics.scrape().await {
            Ok(text) => MetricsResponse::Ok(PlainText(text)),
            Err(_) => MetricsResponse::Internal(ApiError::internal().body()),
        }
    }

    /// Pre-call webhook: clone the caller's voice and personalise the agent
    ///
    /// Sent before a voice-agent call starts. With a voice sample, the caller's voice is cloned
    /// (ElevenLabs Instant Voice Cloning) and set on the agent (`conversation_config.tts.voice_id`);
    /// with a caller name, the agent's greeting (`conversation_config.agent.first_message`) is set
    /// from the configured template. If the agent update fails, the new voice is deleted again.
    ///
    /// **Body**: `application/json` (sample base64 in `voice_sample.data`) or
    /// `multipart/form-data` (a `metadata` text part with the same JSON without `voice_sample`,
    /// and a `voice_sample` file part). Audio: WAV, MP3, OGG Vorbis or FLAC, detected from the
    /// bytes; duration measured from the audio, at least `VOICE_CLONE_MIN_DURATION` seconds.
    ///
    /// **Signature**: header `elevenlabs-signature: t=TIMESTAMP,v0=HEX` where `HEX` is the
    /// lowercase hex HMAC-SHA256, keyed with the webhook secret, of `TIMESTAMP.` followed by the
    /// exact raw body; `TIMESTAMP` is unix seconds within 30 minutes of the server's clock.
    /// Compute it with `precall-webhook sign --secret S body.json`.
    ///
    /// **Redelivery**: a `conversation_id` handled successfully within the retention window is
    /// answered with that first success and `Idempotent-Replayed: true`, without cloning again;
    /// the same `conversation_id` with different content is `409 DUPLICATE_CONVERSATION`.
    /// **Load**: when too many clones are in flight the answer is `503 BUSY` with `Retry-After`.
    #[oai(path = "/webhook", method = "post", tag = "ApiTags::Webhook")]
    async fn webhook(
        &self,
        /// `t=TIMESTAMP,v0=HEX`: HMAC-SHA256 of `TIMESTAMP.` + raw body with the webhook secret.
        #[oai(name = "elevenlabs-signature")]
        signature: SignatureParam,
        body: WebhookBody,
    ) -> WebhookResponse {
        self.pre_call_webhook(signature.0, body).await
    }

    /// Readiness check
    ///
    /// Answers `200` when this replica can take traffic: its stores answer (always, in memory;
    /// with `REDIS_URL`, Redis answers a `PING`). `503 STORE_UNAVAILABLE` while Redis is away:
    /// take the replica out of the load balancer; it reconnects by itself. `/health` stays `200`
    /// meanwhile (the process is alive).
    #[oai(path = "/ready", method = "get", tag = "ApiTags::Health")]
    async fn ready(&self) -> ReadyResponse {
        match self.stores.ready().await {
            Ok(()) => ReadyResponse::ready(self.stores.health.is_some()),
            Err(error) => ReadyResponse::not_ready(&error),
        }
    }

    /// Conversation initiation: this call's voice and greeting, from the registry
    ///
    /// ElevenLabs' own conversation-initiation ("client data") webhook, called when a Twilio or
    /// SIP call to the agent rings. The caller's clone — made or reused by a pre-call webhook,
    /// found by the caller key of `caller_id` — is bound to the call (`call_sid`, or `call_id`
    /// for SIP) and its voice and greeting are returned as `conversation_config_override`, for
    /// this call alone: two calls on one agent at once each hear their own caller's voice. The
    /// same call asked again gets the same clone. Nothing here calls ElevenLabs.
    ///
    /// **Auth**: `Authorization: Bearer <CONVERSATION_INITIATION_TOKEN>` (a request header of
    /// the webhook on the ElevenLabs side); without the variable the endpoint answers `404`.
    /// **Always `200` once authenticated**: without a clone (or a number, a call id, a readable
    /// body) the answer is the neutral one — `type` and `dynamic_variables` with `caller_name`
    /// `""`, `voice_personalised` `false` and the `INITIATION_DYNAMIC_VARIABLES` defaults.
    /// The agent must allow the overrides once: `precall-webhook agent enable-overrides ID`.
    #[oai(
        path = "/webhook/conversation-initiation",
        method = "post",
        tag = "ApiTags::Webhook"
    )]
    async fn conversation_initiation(
        &self,
        auth: InitiationAuth,
        body: InitiationBody,
    ) -> InitiationResponse {
        let span = tracing::info_span!("conversation_initiation");
        async {
            if let Err(refusal) = self.initiation.authorize(auth.0.as_deref()) {
                if let Some(suppressed) = REFUSALS.admit() {
                    tracing::warn!(%refusal, suppressed, "conversation initiation refused");
                }
                return refusal.into();
            }
            let request = match body.read().await {
                Ok(bytes) => parse_initiation(&bytes),
                Err(error) => {
                    tracing::warn!(%error, "conversation initiation body unreadable: neutral answer");
                    Default::default()
                }
            };
            let answer = self.initiation.answer(&request).await;
            tracing::info!(
                status = 200,
                voice_id = answer.voice.as_ref().map(|v| v.voice_id.as_str()),
                "conversation initiation answered"
            );
            InitiationResponse::Ok(Json(answer_payload(
                answer,
                self.initiation.dynamic_variables(),
            )))
        }
        .instrument(span)
        .await
    }

    /// Post-call webhook: release the call's clone
    ///
    /// ElevenLabs' own post-call webhook (subscribe to transcription and call-initiation
    /// failure events; audio events are accepted and ignored). Signed like `/webhook`
    /// (`elevenlabs-signature`, same scheme and ±30 minutes) with `ELEVENLABS_POST_CALL_SECRET`.
    /// The call's clone is found by the `conversation_id` of its pre-call webhook, else by the
    /// call bound at conversation initiation (`call_sid` / `call_id`), else by the override's
    /// `tts.voice_id` when it is ours. A clone that served its conversation alone (no caller
    /// phone number) is deleted in the background, its agent put back first when it speaks with
    /// it; a caller's clone is kept for reuse. The same (`type`, `conversation_id`,
    /// `event_timestamp`) again is answered `duplicate` and does nothing.
    #[oai(path = "/webhook/post-call", method = "post", tag = "ApiTags::Webhook")]
    async fn post_call(
        &self,
        /// `t=TIMESTAMP,v0=HEX`: HMAC-SHA256 of `TIMESTAMP.` + raw body with the post-call secret.
        #[oai(name = "elevenlabs-signature")]
        signature: SignatureParam,
        body: PostCallBody,
    ) -> PostCallResponse {
        let span = tracing::info_span!("post_call", conversation_id = tracing::field::Empty);
        let result = async {
            let body = body.0;
            let request = SignedBody {
                signature: signature.0,
                content_type: body.content_type,
                body: body.bytes.map_err(ApiError::from)?,
            };
            self.post_call.handle(request).await.map_err(ApiError::from)
        }
        .instrument(span.clone())
        .await;
        let _entered = span.enter();
        match result {
            Ok(outcome) => {
                let action = match outcome {
                    PostCallOutcome::Released => PostCallAction::Released,
                    PostCallOutcome::Kept => PostCallAction::Kept,
                    PostCallOutcome::None => PostCallAction::None,
                    PostCallOutcome::Ignored => PostCallAction::Ignored,
                    PostCallOutcome::Duplicate => PostCallAction::Duplicate,
                };
                tracing::info!(status = 200, ?action, "post-call webhook handled");
                PostCallResponse::Ok(Json(PostCallAnswer {
                    status: "ok".into(),
                    action,
                }))
            }
            Err(error) => {
                let status = error.status();
                if status >= 500 {
                    tracing::error!(status, error_code = %error.code_name(), error_message = %error.message, "post-call webhook failed");
                } else if let Some(suppressed) = REFUSALS.admit() {
                    tracing::warn!(status, error_code = %error.code_name(), error_message = %error.message, suppressed, "post-call webhook refused");
                }
                error.into()
            }
        }
    }
}

impl WebhookApi {
    /// `POST /webhook` once its signature header and body are in hand: the operation above and
    /// [`super::DirectWebhook`] both answer with this.
    pub(super) async fn pre_call_webhook(
        &self,
        signature: Option<String>,
        body: WebhookBody,
    ) -> WebhookResponse {
        let started = Instant::now();
        let event = body.bytes.map_err(ApiError::from).and_then(|bytes| {
            let request = SignedBody {
                signature,
                content_type: body.content_type,
                body: bytes,
            };
            self.pre_call.accept(request).map_err(ApiError::from)
        });
        // The request's span starts once the request is known to be signed and its
        // conversation is known: a forged-request flood must not pay for one per request, and
        // a span made with its field costs less than one recorded into afterwards. A refusal
        // before that gets its span only when its line is written, so every line has the same
        // shape.
        let (span, result) = match event {
            Ok(event) => {
                let span = tracing::info_span!(
                    "webhook",
                    conversation_id = event.conversation_id().as_str()
                );
                let result = self
                    .pre_call
                    .handle(event)
                    .instrument(span.clone())
                    .await
                    .map_err(ApiError::from);
                (Some(span), result)
            }
            Err(refusal) => (None, Err(refusal)),
        };
        let elapsed_ms = elapsed_ms(started);
        match result {
            Ok(Handled { outcome, replayed }) => {
                let _entered = span.unwrap_or_else(webhook_span).entered();
                tracing::info!(
                    status = 200,
                    voice_id = outcome.voice.as_ref().map(|v| v.voice_id.as_str()),
                    agent_updated = outcome.agent_updated,
                    replayed,
                    elapsed_ms,
                    "webhook handled"
                );
                WebhookResponse::Ok(
                    SuccessJson::new(outcome, elapsed_ms),
                    replayed.then(|| "true".to_owned()),
                )
            }
            Err(error) => {
                let status = error.status();
                if status >= 500 {
                    let _entered = span.unwrap_or_else(webhook_span).entered();
                    tracing::error!(status, error_code = %error.code_name(), error_message = %error.message, elapsed_ms, "webhook failed");
                } else if let Some(suppressed) = REFUSALS.admit() {
                    let _entered = span.unwrap_or_else(webhook_span).entered();
                    tracing::warn!(status, error_code = %error.code_name(), error_message = %error.message, elapsed_ms, suppressed, "webhook refused");
                }
                error.into()
            }
        }
    }
}

/// The span of a pre-call webhook refused before its conversation was known.
fn webhook_span() -> tracing::Span {
    tracing::info_span!("webhook", conversation_id = tracing::field::Empty)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
