//! Configuration from the environment (and an optional `.env`, loaded by the CLI before this
//! runs). Every variable is read and checked up front; all problems are reported together,
//! one line per variable, and the service never starts half-configured.

mod initiation;
mod log;
mod reader;
mod settings;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::{
    CallerKeySecret, GreetingTemplate, ROLLBACK_BUDGET, SIGNATURE_TOLERANCE_SECONDS, SampleLimits,
    VoiceId, WebhookSecret,
};
use crate::ports::AgentSettings;

pub use initiation::{InitiationConfig, OWN_DYNAMIC_VARIABLES};
pub use log::{LogConfig, LogFormat, LogLevel};
pub use settings::{LifecycleSettings, ReliabilitySettings, UpstreamSettings};

use reader::{Reader, owner_tag, parse_bool, positive_number, seconds, whole};

/// The webhook secret used by `serve --offline` when none is configured.
pub const OFFLINE_WEBHOOK_SECRET: &str = "dev-secret";
/// The greeting used when `DEFAULT_FIRST_MESSAGE` is not set.
pub const DEFAULT_FIRST_MESSAGE: &str = "Hallo {name}, fijn dat je belt!";
/// Room for the JSON around a base64 sample, or the multipart framing and metadata around a file.
const BODY_OVERHEAD_BYTES: u64 = 64 * 1024;

/// The validated configuration. Secrets are `secrecy` types: `Debug` shows them redacted.
#[derive(Debug, Clone)]
pub struct Config {
    /// `ELEVENLABS_API_KEY`; `None` only in offline mode.
    pub api_key: Option<SecretString>,
    /// `ELEVENLABS_WEBHOOK_SECRET` (`dev-secret` in offline mode when unset).
    pub webhook_secret: WebhookSecret,
    /// `ELEVENLABS_API_BASE_URL`, without a trailing slash.
    pub api_base_url: String,
    /// `PRECALL_WEBHOOK_HOST`.
    pub host: IpAddr,
    /// `PRECALL_WEBHOOK_PORT` (0 picks a free port).
    pub port: u16,
    /// `LOG_LEVEL`, `LOG_FORMAT`, `LOG_DIR`.
    pub log: LogConfig,
    /// `VOICE_CLONE_MIN_DURATION` and `VOICE_CLONE_MAX_SIZE_MB`.
    pub sample_limits: SampleLimits,
    /// `DEFAULT_FIRST_MESSAGE`.
    pub first_message: GreetingTemplate,
    /// `VOICE_SAMPLE_STORAGE_PATH`.
    pub storage_path: PathBuf,
    /// `ENABLE_VOICE_SAMPLE_STORAGE`.
    pub storage_enabled: bool,
    /// `REQUEST_BODY_TIMEOUT_SECONDS`: the whole body must arrive within this, else 408.
    pub body_timeout: Duration,
    /// `SHUTDOWN_GRACE_SECONDS`: how long in-flight webhooks (their upstream work and
    /// clean-ups included) may finish after SIGTERM; by default [`Config::longest_webhook`].
    pub shutdown_grace: Duration,
    /// Timeouts and retries towards ElevenLabs.
    pub upstream: UpstreamSettings,
    /// Redelivery, concurrency and circuit-breaker settings.
    pub reliability: ReliabilitySettings,
    /// Reuse and the marking of our clones.
    pub lifecycle: LifecycleSettings,
    /// `CALLER_KEY_SECRET`; `None` derives the key from the webhook secret.
    pub caller_key_secret: Option<SecretString>,
    /// `ELEVENLABS_POST_CALL_SECRET` (by default the webhook secret).
    pub post_call_secret: WebhookSecret,
    /// `POST_CALL_MAX_BODY_MB`, in bytes: audio events are large.
    pub post_call_max_body_bytes: u64,
    /// The conversation-initiation webhook: its token and dynamic-variable defaults.
    pub initiation: InitiationConfig,
    /// `REDIS_URL`: the store several replicas share; `None` keeps everything in memory. May
    /// hold a password, so it is a secret.
    pub redis_url: Option<SecretString>,
}

impl Config {
    /// The largest request body accepted: a base64-encoded sample at the size limit, room for
    /// escaped slashes in it, and room for the JSON or multipart framing around it.
    ///
    /// Escaped slashes: PHP's `json_encode` (and others) write every `/` as `\/`, one byte more
    /// each. In base64 of compressed audio (MP3, OGG, FLAC) about 1 character in 64 is a `/`,
    /// but PCM is not random: quiet passages hold small negative samples (`0xFFxx`), whose
    /// base64 is full of `/`. Measured on WAV of a Gaussian noise floor at every level, the
    /// share peaks at 26 % for 16-bit PCM and 35 % for 24- and 32-bit (a tone with pauses: 14 %).
    /// A slack of 3/8 of the base64 covers all of them at the largest sample. Pathological audio
    /// is not covered (24-bit ±1 LSB dither: 50 %; a sample of `0xFF` bytes: all `/`, twice the
    /// size): covering it would double the memory an unsigned request can make us hold.
    pub fn max_body_bytes(&self) -> u64 {
        let base64 = self.sample_limits.max_bytes.div_ceil(3) * 4;
        base64 + (base64 * 3).div_ceil(8) + BODY_OVERHEAD_BYTES
    }

    /// The key caller keys are made with: `CALLER_KEY_SECRET`, or one derived from the webhook
    /// secret.
    pub fn caller_keys(&self) -> CallerKeySecret {
        match &self.caller_key_secret {
            Some(secret) => CallerKeySecret::new(secret.expose_secret()),
            None => CallerKeySecret::derived_from(&self.webhook_secret),
        }
    }

    /// The longest one webhook can take once accepted: waiting for a clone slot, its upstream
    /// deadline, then a rollback or clean-up with its own budget.
    pub fn longest_webhook(&self) -> Duration {
        self.reliability.clone_queue_timeout + self.upstream.deadline + ROLLBACK_BUDGET
    }

    /// What is allowed but unwise, one line each, for the start-up log.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let longest = self.longest_webhook();
        if self.shutdown_grace < longest {
            warnings.push(format!(
                "SHUTDOWN_GRACE_SECONDS ({} s) is shorter than one webhook's worst case \
                 (CLONE_QUEUE_TIMEOUT_SECONDS + ELEVENLABS_TIMEOUT_SECONDS + {} s of rollback = \
                 {} s): a shutdown may cut upstream work off, leaving voices for the sweep",
                self.shutdown_grace.as_secs_f64(),
                ROLLBACK_BUDGET.as_secs(),
                longest.as_secs_f64()
            ));
        }
        warnings
    }

    /// Reads the configuration through `var` (the process environment in production).
    /// With `offline`, the API key is not needed and the webhook secret defaults to
    /// [`OFFLINE_WEBHOOK_SECRET`].
    ///
    /// # Errors
    /// Every problem found, one per variable.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        offline: bool,
    ) -> Result<Self, ConfigErrors> {
        let mut r = Reader::new(&var);

        let api_key = r.secret("ELEVENLABS_API_KEY", !offline);
        let webhook_secret = r
            .secret("ELEVENLABS_WEBHOOK_SECRET", !offline)
            .or_else(|| offline.then(|| SecretString::from(OFFLINE_WEBHOOK_SECRET)))
            // Blank values count as unset above, so the secret is never empty here.
            .and_then(|s| WebhookSecret::new(s).ok());
        let api_base_url = r.parse_with(
            "ELEVENLABS_API_BASE_URL",
            "https://api.elevenlabs.io",
            |v| {
                let v = v.trim().trim_end_matches('/');
                if (v.starts_with("http://") || v.starts_with("https://"))
                    && v.len() > "https://".len()
                {
                    Ok(v.to_owned())
                } else {
                    Err("expected an http:// or https:// URL".into())
                }
            },
        );
        let host = r.parse("PRECALL_WEBHOOK_HOST", "0.0.0.0");
        let port = r.parse("PRECALL_WEBHOOK_PORT", "3005");
        let level = r.parse("LOG_LEVEL", "INFO");
        let format = r.parse("LOG_FORMAT", "text");
        let log_dir = r.optional_path("LOG_DIR");
        let min_duration = r.parse_with("VOICE_CLONE_MIN_DURATION", "3.0", |v| {
            positive_number(v, 0.0, 600.0)
        });
        let max_size_mb = r.parse_with("VOICE_CLONE_MAX_SIZE_MB", "10.0", |v| {
            positive_number(v, 0.001, 100.0)
        });
        let first_message = r.parse_with("DEFAULT_FIRST_MESSAGE", DEFAULT_FIRST_MESSAGE, |v| {
            GreetingTemplate::parse(v).map_err(|e| e.to_string())
        });
        let storage_path = r
            .optional_path("VOICE_SAMPLE_STORAGE_PATH")
            .unwrap_or_else(|| PathBuf::from("./storage/voice_samples"));
        let storage_enabled = r.parse_with("ENABLE_VOICE_SAMPLE_STORAGE", "false", parse_bool);
        let body_timeout = r.parse_with("REQUEST_BODY_TIMEOUT_SECONDS", "30", seconds);
        let shutdown_grace = r.optional_with("SHUTDOWN_GRACE_SECONDS", seconds);
        let deadline = r.parse_with("ELEVENLABS_TIMEOUT_SECONDS", "30", seconds);
        let min_clone_attempt = r.parse_with("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "5", seconds);
        let connect_timeout = r.parse_with("ELEVENLABS_CONNECT_TIMEOUT_SECONDS", "5", seconds);
        let request_timeout = r.parse_with("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "20", seconds);
        let max_retries = r.parse_with("ELEVENLABS_MAX_RETRIES", "3", |v| whole(v, 0, 10));
        let max_concurrent_clones =
            r.parse_with("MAX_CONCURRENT_CLONES", "4", |v| whole(v, 1, 256));
        let clone_queue_capacity =
            r.parse_with("CLONE_QUEUE_CAPACITY", "512", |v| whole(v, 64, 100_000));
        let clone_queue_timeout = r.parse_with("CLONE_QUEUE_TIMEOUT_SECONDS", "10", seconds);
        let breaker_threshold =
            r.parse_with("CIRCUIT_BREAKER_THRESHOLD", "5", |v| whole(v, 1, 1000));
        let breaker_cool_down = r.parse_with("CIRCUIT_BREAKER_COOLDOWN_SECONDS", "30", seconds);
        // A signed request stays valid for the signature window: a retention shorter than it
        // would let a captured request clone again once forgotten.
        let idempotency_retention = r.parse_with("IDEMPOTENCY_RETENTION_SECONDS", "3600", |v| {
            let window = SIGNATURE_TOLERANCE_SECONDS as f64;
            positive_number(v, 1.0, 7.0 * 86_400.0)
                .and_then(|n| {
                    (n >= window).then_some(n).ok_or_else(|| {
                        format!(
                            "at least {window} s, the signature window: a captured request \
                             could otherwise clone again"
                        )
                    })
                })
                .map(Duration::from_secs_f64)
        });
        let idempotency_max_entries = r.parse_with("IDEMPOTENCY_MAX_ENTRIES", "10000", |v| {
            whole(v, 100, 10_000_000)
        });
        let max_header_bytes =
            r.parse_with("MAX_HEADER_BYTES", "16384", |v| whole(v, 1024, 1024 * 1024));
        let reuse_max_age = r.parse_with("VOICE_REUSE_MAX_AGE_SECONDS", "86400", |v| {
            whole(v, 0, 365 * 86_400).map(|n| Duration::from_secs(n as u64))
        });
        let owner_tag = r.parse_with("VOICE_OWNER_TAG", "precall-webhook", owner_tag);
        let caller_key_secret = r.secret("CALLER_KEY_SECRET", false);
        let post_call_secret = r
            .secret("ELEVENLABS_POST_CALL_SECRET", false)
            .and_then(|s| WebhookSecret::new(s).ok());
        let post_call_max_mb = r.parse_with("POST_CALL_MAX_BODY_MB", "25", |v| {
            positive_number(v, 0.001, 200.0)
        });
        let max_live_clones = r.parse_with("VOICE_MAX_LIVE_CLONES", "0", |v| whole(v, 0, 10_000));
        let sweep_interval = r.parse_with("VOICE_SWEEP_INTERVAL_SECONDS", "300", |v| {
            whole(v, 0, 7 * 86_400).map(|n| Duration::from_secs(n as u64))
        });
        let orphan_grace = r.parse_with("VOICE_ORPHAN_GRACE_SECONDS", "900", |v| {
            whole(v, 0, 30 * 86_400).map(|n| Duration::from_secs(n as u64))
        });
        let max_call = r.parse_with("MAX_CALL_SECONDS", "3600", |v| {
            whole(v, 1, 7 * 86_400).map(|n| Duration::from_secs(n as u64))
        });
        let agent_update =
            r.parse_with("AGENT_UPDATE_MODE", "patch", initiation::agent_update_mode);
        let initiation_token =
            r.optional_with("CONVERSATION_INITIATION_TOKEN", initiation::bearer_token);
        let dynamic_variables = r.parse_with(
            "INITIATION_DYNAMIC_VARIABLES",
            "{}",
            initiation::dynamic_variables,
        );
        let redis_url = r.optional_with("REDIS_URL", |v| {
            let v = v.trim();
            ["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| v.len() > scheme.len() && v.starts_with(scheme))
                .then(|| SecretString::from(v.to_owned()))
                .ok_or_else(|| "expected a redis://, rediss:// or redis+unix:// URL".to_owned())
        });
        let default_voice = r.optional_with("AGENT_DEFAULT_VOICE_ID", |v| {
            VoiceId::parse(v.trim()).map_err(|e| e.to_string())
        });
        let default_first_message = r.optional_with("AGENT_DEFAULT_FIRST_MESSAGE", |v| {
            (v.chars().count() <= 1000)
                .then(|| v.to_owned())
                .ok_or_else(|| "at most 1000 characters".to_owned())
        });

        let errors = r.into_errors();
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        // Every `None` pushed an error above, so with no errors all of these are `Some`.
        let (
            Some(webhook_secret),
            Some(api_base_url),
            Some(host),
            Some(port),
            Some(level),
            Some(format),
            Some(min_duration),
            Some(max_size_mb),
            Some(first_message),
            Some(storage_enabled),
            Some(body_timeout),
            Some(deadline),
            Some(min_clone_attempt),
            Some(connect_timeout),
            Some(request_timeout),
            Some(max_retries),
            Some(max_concurrent_clones),
            Some(clone_queue_capacity),
            Some(clone_queue_timeout),
            Some(breaker_threshold),
            Some(breaker_cool_down),
            Some(idempotency_retention),
            Some(idempotency_max_entries),
            Some(max_header_bytes),
            Some(reuse_max_age),
            Some(owner_tag),
            Some(max_live_clones),
            Some(post_call_max_mb),
            Some(sweep_interval),
            Some(orphan_grace),
            Some(max_call),
            Some(agent_update),
            Some(dynamic_variables),
        ) = (
            webhook_secret,
            api_base_url,
            host,
            port,
            level,
            format,
            min_duration,
            max_size_mb,
            first_message,
            storage_enabled,
            body_timeout,
            deadline,
            min_clone_attempt,
            connect_timeout,
            request_timeout,
            max_retries,
            max_concurrent_clones,
            clone_queue_capacity,
            clone_queue_timeout,
            breaker_threshold,
            breaker_cool_down,
            idempotency_retention,
            idempotency_max_entries,
            max_header_bytes,
            reuse_max_age,
            owner_tag,
            max_live_clones,
            post_call_max_mb,
            sweep_interval,
            orphan_grace,
            max_call,
            agent_update,
            dynamic_variables,
        )
        else {
            return Err(ConfigErrors(vec!["configuration incomplete".into()]));
        };
        if min_clone_attempt >= deadline {
            return Err(ConfigErrors(vec![
                "ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS: invalid value (must be shorter than \
                 ELEVENLABS_TIMEOUT_SECONDS)"
                    .into(),
            ]));
        }
        let config_webhook_secret = webhook_secret.clone();
        let mut config = Self {
            api_key,
            webhook_secret,
            api_base_url,
            host,
            port,
            log: LogConfig {
                level,
                format,
                directory: log_dir,
            },
            sample_limits: SampleLimits {
                min_duration_seconds: min_duration,
                // MB are 10^6 bytes, as the SPEC says; the product is exact for sane inputs.
                max_bytes: (max_size_mb * 1_000_000.0).round() as u64,
            },
            first_message,
            storage_path,
            storage_enabled,
            body_timeout,
            shutdown_grace: Duration::ZERO,
            upstream: UpstreamSettings {
                deadline,
                connect_timeout,
                request_timeout,
                max_retries: max_retries as u32,
                min_clone_attempt,
            },
            reliability: ReliabilitySettings {
                max_concurrent_clones,
                clone_queue_capacity,
                clone_queue_timeout,
                breaker_threshold: breaker_threshold as u32,
                breaker_cool_down,
                idempotency_retention,
                idempotency_max_entries,
                max_header_bytes,
            },
            lifecycle: LifecycleSettings {
                reuse_max_age,
                owner_tag,
                max_live_clones,
                agent_defaults: AgentSettings {
                    voice_id: default_voice,
                    first_message: default_first_message,
                },
                sweep_interval,
                orphan_grace,
                max_call,
                agent_update,
            },
            caller_key_secret,
            post_call_secret: post_call_secret.unwrap_or_else(|| config_webhook_secret.clone()),
            post_call_max_body_bytes: (post_call_max_mb * 1_000_000.0).round() as u64,
            initiation: InitiationConfig {
                token: initiation_token,
                dynamic_variables: dynamic_variables.into(),
            },
            redis_url,
        };
        config.shutdown_grace = shutdown_grace.unwrap_or_else(|| config.longest_webhook());
        Ok(config)
    }
}

/// Everything wrong with the configuration, one line per variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}
