//! The shared HTTP client: base URL, API key, timeouts, and the retry loop every call goes
//! through.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::error_body;
use super::retry::{self, RetryPolicy};
use crate::ports::UpstreamError;

/// Largest response body we read (ElevenLabs' answers here are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Sent with every request so ElevenLabs can tell who is calling.
const USER_AGENT: &str = concat!("precall-webhook/", env!("CARGO_PKG_VERSION"));

/// How to reach ElevenLabs.
#[derive(Clone)]
pub struct ElevenLabsConfig {
    /// `https://api.elevenlabs.io`, a regional host, or a mock in tests.
    pub base_url: String,
    /// Sent as `xi-api-key`.
    pub api_key: SecretString,
    /// Establishing a connection.
    pub connect_timeout: Duration,
    /// One attempt of one call, body included.
    pub request_timeout: Duration,
    /// Retries of 429, 5xx and connection failures.
    pub retry: RetryPolicy,
    /// The `owner` label put on every clone, and required of every voice counted as ours, so
    /// that deployments sharing one account never touch each other's clones
    /// (`VOICE_OWNER_TAG`, default `precall-webhook`).
    pub owner: String,
}

impl fmt::Debug for ElevenLabsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElevenLabsConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"[REDACTED]")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("owner", &self.owner)
            .finish()
    }
}

/// The client could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The base URL does not parse or cannot carry a path.
    #[error("ELEVENLABS_API_BASE_URL is not a usable URL")]
    BaseUrl,
    /// The API key holds characters a header cannot.
    #[error("ELEVENLABS_API_KEY holds characters that cannot be sent in a header")]
    ApiKey,
    /// TLS or connection-pool set-up failed.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

/// An ElevenLabs API client. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct ElevenLabsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    /// `{base}/v1/voices/add`, built once: every webhook with a sample posts to it.
    add_voice_url: Url,
    request_timeout: Duration,
    retry: RetryPolicy,
    /// Kept to scrub it from any upstream text we repeat (belt and braces).
    api_key: SecretString,
    /// Our `owner` label (see [`ElevenLabsConfig::owner`]).
    owner: String,
}

impl fmt::Debug for ElevenLabsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElevenLabsClient")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A call that did not succeed, before it is put in a port's terms.
#[derive(Debug)]
pub(super) enum CallError {
    /// A final 4xx answer.
    Refused { status: StatusCode, body: Bytes },
    /// Unreachable, or still failing after retries, on a call ElevenLabs certainly did not act
    /// on or that is harmless to repeat; the reason says which.
    Unavailable(String),
    /// It may have been acted on although no valid answer came back (see [`Replay`]).
    Uncertain {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// No attempt was sent: too little time was left before the deadline.
    OutOfTime(String),
}

impl CallError {
    /// The port error, with the upstream's reason.
    pub(super) fn into_upstream(self) -> UpstreamError {
        match self {
            Self::Refused { status, body } => error_body::refusal(status, &body),
            Self::Unavailable(reason) => UpstreamError::Unavailable(reason),
            Self::Uncertain {
                reason,
                retry_after,
            } => UpstreamError::Uncertain {
                reason,
                retry_after,
            },
            Self::OutOfTime(reason) => UpstreamError::OutOfTime(reason),
        }
    }
}

/// Why an attempt should be retried.
struct Transient {
    reason: String,
    retry_after: Option<Duration>,
    /// ElevenLabs certainly did not act on the request (429, or no connection was made).
    unprocessed: bool,
}

/// What a failed attempt of a call means, and whether it may simply be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Replay {
    /// Reads and deletes: sending them twice does no harm, and a lost answer changed nothing
    /// we need to know about.
    Safe,
    /// An update that converges (the same PATCH): retried, but if any attempt may have been
    /// applied and none was confirmed, the result is [`CallError::Uncertain`].
    Idempotent,
    /// It creates something: replay only what certainly did not reach ElevenLabs (429, no
    /// connection); anything else (a timeout, a 5xx, a reset) may have created it, and is
    /// returned at once as [`CallError::Uncertain`] for the caller to check.
    Once,
}

impl ElevenLabsClient {
    /// Builds the client (rustls, connection pool, `User-Agent`, the key as a sensitive header).
    ///
    /// # Errors
    /// [`ClientBuildError`] when the URL or key is unusable or TLS cannot be set up.
    pub fn new(config: ElevenLabsConfig) -> Result<Self, ClientBuildError> {
        let base = Url::parse(&config.base_url).map_err(|_| ClientBuildError::BaseUrl)?;
        if base.cannot_be_a_base() {
            return Err(ClientBuildError::BaseUrl);
        }
        let mut key = HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| ClientBuildError::ApiKey)?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("xi-api-key", key);
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .https_only(base.scheme() == "https")
            .build()
            .map_err(|e| ClientBuildError::Http(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                add_voice_url: with_segments(&base, &["v1", "voices", "add"]),
                base,
                request_timeout: config.request_timeout,
                retry: config.retry,
                api_key: config.api_key,
                owner: config.owner,
            }),
        })
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        with_segments(&self.inner.base, segments)
    }

    /// `{base}/v1/voices/add`.
    pub(super) fn add_voice_url(&self) -> &Url {
        &self.inner.add_voice_url
    }

    pub(super) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The `owner` label of this deployment's clones.
    pub(super) fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// Sends the request `build` makes (a fresh one per attempt: multipart bodies are consumed),
    /// retrying 429, 5xx and connection failures until `deadline` as [`Replay`] allows. No
    /// attempt is sent with less than `min_attempt` left (nor with nothing left). Returns the
    /// 2xx body.
    pub(super) async fn call(
        &self,
        what: &'static str,
        replay: Replay,
        deadline: Instant,
        min_attempt: Duration,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Bytes, CallError> {
        let mut retries = 0;
        let mut maybe_acted = false;
        loop {
            let remaining = deadline.saturating_duration_since(now());
            if remaining.is_zero() || remaining < min_attempt {
                return Err(CallError::OutOfTime(format!(
                    "{what}: not sent, too little time left before the deadline"
                )));
            }
            let attempt = build().timeout(remaining.min(self.inner.request_timeout));
            let transient = match attempt.send().await {
                Ok(response) => match self.read(response).await {
                    Ok((status, body)) if status.is_success() => return Ok(body),
                    Ok((status, body)) => return Err(CallError::Refused { status, body }),
                    Err(transient) => transient,
                },
                Err(error) => Transient {
                    reason: describe(&error),
                    retry_after: None,
                    unprocessed: error.is_connect(),
                },
            };
            maybe_acted |= !transient.unprocessed;
            let reason = format!("{what}: {}", transient.reason);
            let uncertain = |reason: String| CallError::Uncertain {
                reason,
                retry_after: transient.retry_after,
            };
            if replay == Replay::Once && !transient.unprocessed {
                return Err(uncertain(reason));
            }
            let give_up = |reason: String| {
                if replay == Replay::Idempotent && maybe_acted {
                    uncertain(reason)
                } else {
                    CallError::Unavailable(reason)
                }
            };
            retries += 1;
            if retries > self.inner.retry.max_retries {
                return Err(give_up(format!(
                    "{reason} (still failing after {retries} attempts)"
                )));
            }
            let delay = self.inner.retry.delay(retries, transient.retry_after);
            if now() + delay + min_attempt >= deadline {
                return Err(give_up(format!(
                    "{reason} (no time left to retry before the deadline)"
                )));
            }
            tracing::warn!(
                call = what,
                retry = retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                %reason,
                "ElevenLabs call failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Reads status and (capped) body; a retryable status carries its `Retry-After` out.
    async fn read(&self, mut response: Response) -> Result<(StatusCode, Bytes), Transient> {
        let status = response.status();
        let retry_after = retry::retry_after(response.headers());
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| Transient {
            reason: describe(&e),
            retry_after: None,
            unprocessed: false,
        })? {
            let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        let mut body = body.freeze();
        if !status.is_success() {
            // Scrubbed before anything reads or truncates it: no error can repeat the key.
            body = Bytes::from(self.scrub(&String::from_utf8_lossy(&body)));
        }
        if is_retryable(status) {
            return Err(Transient {
                reason: format!(
                    "{} ({})",
                    error_body::reason(status, &body).1,
                    status.as_u16()
                ),
                retry_after,
                unprocessed: status == StatusCode::TOO_MANY_REQUESTS,
            });
        }
        Ok((status, body))
    }

    /// Removes the API key from text we are about to repeat, should an upstream ever echo it.
    fn scrub(&self, text: &str) -> String {
        let key = self.inner.api_key.expose_secret();
        if key.is_empty() {
            text.to_owned()
        } else {
            text.replace(key, "[REDACTED]")
        }
    }
}

/// `base` with `segments` appended, each percent-encoded.
fn with_segments(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// Monotonic now on tokio's clock, so that paused test time drives the deadlines.
pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// A transport error in words. The key is a header, never part of the URL or of the error.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        format!("transport error: {error}")
    }
}
