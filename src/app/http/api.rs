//! The HTTP surface: `GET /health` and `POST /webhook`, documented for the OpenAPI spec.
//! Handlers only convert: raw request → domain → response; the use case does the work.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use poem_openapi::{OpenApi, Tags, payload::Json};
use tracing::Instrument;

use super::body::{SignatureParam, WebhookBody};
use super::errors::{ApiError, WebhookResponse};
use super::payload;
use super::schema::{CallerInfoPayload, Health, WebhookSuccess};
use crate::domain::{
    CallOutcome, Deliveries, Delivery, PersonaliseCall, PreCallEvent, WebhookSecret,
};
use crate::ports::Clock;

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
pub struct WebhookApi {
    /// The use case.
    pub use_case: Arc<PersonaliseCall>,
    /// Verifies `elevenlabs-signature`.
    pub secret: WebhookSecret,
    /// The clock the signature window is measured against.
    pub clock: Arc<dyn Clock>,
    /// The deliver-once rule.
    pub deliveries: Arc<Deliveries>,
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
        let started = Instant::now();
        let span = tracing::info_span!("webhook", conversation_id = tracing::field::Empty);
        let result = self
            .handle(signature, body, &span)
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        let elapsed_ms = elapsed_ms(started);
        match result {
            Ok((outcome, replayed)) => {
                tracing::info!(
                    status = 200,
                    voice_id = outcome.voice.as_ref().map(|v| v.voice_id.as_str()),
                    agent_updated = outcome.agent_updated,
                    replayed,
                    elapsed_ms,
                    "webhook handled"
                );
                WebhookResponse::Ok(
                    Json(success(outcome, elapsed_ms)),
                    replayed.then(|| "true".to_owned()),
                )
            }
            Err(error) => {
                let status = error.status();
                if status >= 500 {
                    tracing::error!(status, error_code = %error.code_name(), error_message = %error.message, elapsed_ms, "webhook failed");
                } else {
                    tracing::warn!(status, error_code = %error.code_name(), error_message = %error.message, elapsed_ms, "webhook refused");
                }
                error.into()
            }
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl WebhookApi {
    /// Checks, parses and hands the event to [`process`]; returns the outcome and whether it was
    /// replayed from an earlier delivery.
    async fn handle(
        &self,
        signature: SignatureParam,
        body: WebhookBody,
        span: &tracing::Span,
    ) -> Result<(CallOutcome, bool), ApiError> {
        let bytes = body.bytes?;
        self.secret
            .verify(signature.0.as_deref(), &bytes, self.clock.now_unix())?;
        let event = payload::parse(body.content_type.as_deref(), bytes)?;
        let conversation_id = event.conversation_id.clone();
        span.record("conversation_id", conversation_id.as_str());
        tracing::info!(
            agent_id = %event.agent_id,
            has_sample = event.sample.is_some(),
            sample_bytes = event.sample.as_ref().map(|s| s.bytes.len()),
            "webhook received"
        );
        // The rest runs in a task of its own: a sender that hangs up must not cancel a clone
        // half-way (that is how orphan voices are made), and a panic stays inside that task.
        let task = tokio::spawn(
            process(
                Arc::clone(&self.use_case),
                Arc::clone(&self.deliveries),
                event,
            )
            .instrument(span.clone()),
        );
        let result = task.await.unwrap_or_else(|join_error| {
            tracing::error!(error = %join_error, "webhook task failed");
            Err(ApiError::internal())
        });
        result.map_err(|e| e.for_conversation(conversation_id.as_str()))
    }
}

/// Deliver once: replay a handled conversation, otherwise personalise and record the outcome.
async fn process(
    use_case: Arc<PersonaliseCall>,
    deliveries: Arc<Deliveries>,
    event: PreCallEvent,
) -> Result<(CallOutcome, bool), ApiError> {
    let ticket = match deliveries.begin(&event).await? {
        Delivery::Replay(outcome) => return Ok((outcome, true)),
        Delivery::First(ticket) => ticket,
    };
    let result = personalise(use_case, event).await;
    deliveries.finish(ticket, result.as_ref().ok()).await;
    result.map(|outcome| (outcome, false))
}

async fn personalise(
    use_case: Arc<PersonaliseCall>,
    event: PreCallEvent,
) -> Result<CallOutcome, ApiError> {
    // Audio probing is CPU work: it runs on the blocking pool, not on an async worker.
    let prepare_case = Arc::clone(&use_case);
    let span = tracing::Span::current();
    let prepared = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        prepare_case.prepare(event)
    })
    .await
    .map_err(|join_error| {
        tracing::error!(error = %join_error, "sample check failed");
        ApiError::internal()
    })??;
    if let Some(sample) = prepared.sample() {
        tracing::info!(
            format = %sample.format(),
            duration_seconds = sample.duration_seconds(),
            sample_rate = sample.sample_rate(),
            "voice sample accepted"
        );
    }
    // A panic here must still let the delivery be released, so it is caught rather than left
    // to end the task.
    match AssertUnwindSafe(use_case.execute(prepared))
        .catch_unwind()
        .await
    {
        Ok(result) => Ok(result?),
        Err(_) => {
            tracing::error!("personalising the call panicked");
            Err(ApiError::internal())
        }
    }
}

fn success(outcome: CallOutcome, processing_time_ms: u64) -> WebhookSuccess {
    let (voice_id, voice_name) = match outcome.voice {
        Some(v) => (Some(v.voice_id.to_string()), Some(v.voice_name.to_string())),
        None => (None, None),
    };
    WebhookSuccess {
        status: "success".into(),
        conversation_id: outcome.conversation_id.to_string(),
        voice_id,
        voice_name,
        agent_updated: outcome.agent_updated,
        caller_info: CallerInfoPayload {
            name: outcome.caller_info.name,
            date_of_birth: outcome.caller_info.date_of_birth,
        },
        processing_time_ms,
    }
}
