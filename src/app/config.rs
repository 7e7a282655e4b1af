//! Configuration from the environment (and an optional `.env`, loaded by the CLI before this
//! runs). Every variable is read and checked up front; all problems are reported together,
//! one line per variable, and the service never starts half-configured.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::domain::{GreetingTemplate, SampleLimits, WebhookSecret};

/// The webhook secret used by `serve --offline` when none is configured.
pub const OFFLINE_WEBHOOK_SECRET: &str = "dev-secret";
/// The greeting used when `DEFAULT_FIRST_MESSAGE` is not set.
pub const DEFAULT_FIRST_MESSAGE: &str = "Hallo {name}, fijn dat je belt!";
/// Room for the JSON around a base64 sample, or the multipart framing and metadata around a file.
const BODY_OVERHEAD_BYTES: u64 = 64 * 1024;

/// Log verbosity, as `LOG_LEVEL` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARNING` (or `WARN`)
    Warning,
    /// `ERROR`
    Error,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Self::Debug),
            "INFO" => Ok(Self::Info),
            "WARNING" | "WARN" => Ok(Self::Warning),
            "ERROR" => Ok(Self::Error),
            _ => Err("expected one of DEBUG, INFO, WARNING, ERROR".into()),
        }
    }
}

/// Log line format, as `LOG_FORMAT` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected text or json".into()),
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `LOG_LEVEL`.
    pub level: LogLevel,
    /// `LOG_FORMAT`.
    pub format: LogFormat,
    /// `LOG_DIR`: also write logs to a file there.
    pub directory: Option<PathBuf>,
}

/// How the service treats ElevenLabs: timeouts and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamSettings {
    /// `ELEVENLABS_TIMEOUT_SECONDS`: all upstream work of one webhook, retries included.
    pub deadline: Duration,
    /// `ELEVENLABS_CONNECT_TIMEOUT_SECONDS`: establishing a connection.
    pub connect_timeout: Duration,
    /// `ELEVENLABS_REQUEST_TIMEOUT_SECONDS`: one attempt of one call.
    pub request_timeout: Duration,
    /// `ELEVENLABS_MAX_RETRIES`: retries after the first attempt (429, 5xx, connection errors).
    pub max_retries: u32,
}

/// Protection against redelivery, bursts and a failing upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReliabilitySettings {
    /// `MAX_CONCURRENT_CLONES`: clone requests in flight upstream at once.
    pub max_concurrent_clones: usize,
    /// `CLONE_QUEUE_CAPACITY`: clones that may wait for a slot; more get `503 BUSY` at once.
    pub clone_queue_capacity: usize,
    /// `CLONE_QUEUE_TIMEOUT_SECONDS`: longest wait for a clone slot before `503 BUSY`.
    pub clone_queue_timeout: Duration,
    /// `CIRCUIT_BREAKER_THRESHOLD`: consecutive upstream failures that open the breaker.
    pub breaker_threshold: u32,
    /// `CIRCUIT_BREAKER_COOLDOWN_SECONDS`: how long it stays open before a trial request.
    pub breaker_cool_down: Duration,
    /// `IDEMPOTENCY_RETENTION_SECONDS`: how long a handled conversation is answered from memory.
    pub idempotency_retention: Duration,
    /// `IDEMPOTENCY_MAX_ENTRIES`: most conversations remembered (oldest forgotten first).
    pub idempotency_max_entries: usize,
    /// `MAX_HEADER_BYTES`: total size of request headers before `431`.
    pub max_header_bytes: usize,
}

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
    /// `SHUTDOWN_GRACE_SECONDS`: how long in-flight webhooks may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// Timeouts and retries towards ElevenLabs.
    pub upstream: UpstreamSettings,
    /// Redelivery, concurrency and circuit-breaker settings.
    pub reliability: ReliabilitySettings,
}

impl Config {
    /// The largest request body accepted: a base64-encoded sample at the size limit plus
    /// room for the JSON or multipart framing around it.
    pub fn max_body_bytes(&self) -> u64 {
        self.sample_limits.max_bytes.div_ceil(3) * 4 + BODY_OVERHEAD_BYTES
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
        let mut r = Reader {
            var: &var,
            errors: Vec::new(),
        };

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
        let shutdown_grace = r.parse_with("SHUTDOWN_GRACE_SECONDS", "20", seconds);
        let deadline = r.parse_with("ELEVENLABS_TIMEOUT_SECONDS", "30", seconds);
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
        let idempotency_retention = r.parse_with("IDEMPOTENCY_RETENTION_SECONDS", "3600", |v| {
            positive_number(v, 1.0, 7.0 * 86_400.0).map(Duration::from_secs_f64)
        });
        let idempotency_max_entries = r.parse_with("IDEMPOTENCY_MAX_ENTRIES", "10000", |v| {
            whole(v, 100, 10_000_000)
        });
        let max_header_bytes =
            r.parse_with("MAX_HEADER_BYTES", "16384", |v| whole(v, 1024, 1024 * 1024));

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
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
            Some(shutdown_grace),
            Some(deadline),
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
            shutdown_grace,
            deadline,
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
        )
        else {
            return Err(ConfigErrors(vec!["configuration incomplete".into()]));
        };
        Ok(Self {
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
            shutdown_grace,
            upstream: UpstreamSettings {
                deadline,
                connect_timeout,
                request_timeout,
                max_retries: max_retries as u32,
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
        })
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

struct Reader<'a, F> {
    var: &'a F,
    errors: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<'_, F> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    fn secret(&mut self, name: &str, required: bool) -> Option<SecretString> {
        match (self.raw(name), required) {
            (Some(v), _) => Some(SecretString::from(v.trim().to_owned())),
            (None, true) => {
                self.errors.push(format!("{name}: required but not set"));
                None
            }
            (None, false) => None,
        }
    }

    fn optional_path(&mut self, name: &str) -> Option<PathBuf> {
        self.raw(name).map(|v| PathBuf::from(v.trim()))
    }

    fn parse<T: FromStr>(&mut self, name: &str, default: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        self.parse_with(name, default, |v| {
            v.trim().parse::<T>().map_err(|e| e.to_string())
        })
    }

    fn parse_with<T>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(name).unwrap_or_else(|| default.to_owned());
        match parse(&value) {
            Ok(v) => Some(v),
            Err(why) => {
                // Values are not echoed: a secret pasted into the wrong variable must not leak.
                self.errors.push(format!("{name}: invalid value ({why})"));
                None
            }
        }
    }
}

fn positive_number(v: &str, min: f64, max: f64) -> Result<f64, String> {
    let n: f64 = v
        .trim()
        .parse()
        .map_err(|_| "expected a number".to_string())?;
    if !n.is_finite() || n < min || n > max {
        return Err(format!("expected a number from {min} to {max}"));
    }
    Ok(n)
}

fn whole(v: &str, min: usize, max: usize) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected a whole number from {min} to {max}"))
}

fn seconds(v: &str) -> Result<Duration, String> {
    positive_number(v, 0.001, 3600.0).map(Duration::from_secs_f64)
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)], offline: bool) -> Result<Config, ConfigErrors> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(|k| map.get(k).cloned(), offline)
    }

    const KEYS: [(&str, &str); 2] = [
        ("ELEVENLABS_API_KEY", "sk_test"),
        ("ELEVENLABS_WEBHOOK_SECRET", "whsec"),
    ];

    #[test]
    fn applies_the_spec_defaults() {
        let c = from(&KEYS, false).unwrap();
        assert_eq!(c.port, 3005);
        assert_eq!(c.host.to_string(), "0.0.0.0");
        assert_eq!(c.api_base_url, "https://api.elevenlabs.io");
        assert_eq!(c.log.level, LogLevel::Info);
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.sample_limits.min_duration_seconds, 3.0);
        assert_eq!(c.sample_limits.max_bytes, 10_000_000);
        assert_eq!(c.first_message.as_str(), DEFAULT_FIRST_MESSAGE);
        assert!(!c.storage_enabled);
        assert_eq!(c.body_timeout, Duration::from_secs(30));
        assert_eq!(c.shutdown_grace, Duration::from_secs(20));
        assert_eq!(c.upstream.deadline, Duration::from_secs(30));
        assert_eq!(c.upstream.max_retries, 3);
        let r = c.reliability;
        assert_eq!(r.max_concurrent_clones, 4);
        assert_eq!(r.clone_queue_capacity, 512);
        assert_eq!(r.clone_queue_timeout, Duration::from_secs(10));
        assert_eq!(r.breaker_threshold, 5);
        assert_eq!(r.breaker_cool_down, Duration::from_secs(30));
        assert_eq!(r.idempotency_retention, Duration::from_secs(3600));
        assert_eq!(r.max_header_bytes, 16 * 1024);
        assert_eq!(c.max_body_bytes(), 13_333_336 + 65_536);
    }

    #[test]
    fn requires_the_key_and_secret_unless_offline() {
        let err = from(&[], false).unwrap_err();
        assert_eq!(
            err.0,
            vec![
                "ELEVENLABS_API_KEY: required but not set",
                "ELEVENLABS_WEBHOOK_SECRET: required but not set"
            ]
        );
        let c = from(&[], true).unwrap();
        assert!(c.api_key.is_none());
        let signed = WebhookSecret::new(SecretString::from(OFFLINE_WEBHOOK_SECRET))
            .unwrap()
            .sign(1, b"x");
        assert_eq!(c.webhook_secret.verify(Some(&signed), b"x", 1), Ok(()));
    }

    #[test]
    fn reports_every_bad_variable_on_its_own_line_without_echoing_values() {
        let mut vars = KEYS.to_vec();
        vars.extend([
            ("PRECALL_WEBHOOK_PORT", "abc"),
            ("VOICE_CLONE_MIN_DURATION", "-1"),
            ("LOG_LEVEL", "LOUD"),
            ("LOG_FORMAT", "xml"),
            ("ENABLE_VOICE_SAMPLE_STORAGE", "maybe"),
            ("ELEVENLABS_API_BASE_URL", "ftp://x"),
            ("PRECALL_WEBHOOK_HOST", "not-an-ip"),
        ]);
        let err = from(&vars, false).unwrap_err();
        let names: Vec<&str> = err.0.iter().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            names,
            [
                "ELEVENLABS_API_BASE_URL",
                "PRECALL_WEBHOOK_HOST",
                "PRECALL_WEBHOOK_PORT",
                "LOG_LEVEL",
                "LOG_FORMAT",
                "VOICE_CLONE_MIN_DURATION",
                "ENABLE_VOICE_SAMPLE_STORAGE"
            ]
        );
        assert!(!err.to_string().contains("abc") && !err.to_string().contains("LOUD"));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = from(&KEYS, false).unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("sk_test") && !debug.contains("whsec"));
    }

    #[test]
    fn accepts_warning_and_case_variants() {
        let mut vars = KEYS.to_vec();
        vars.extend([
            ("LOG_LEVEL", "warning"),
            ("LOG_FORMAT", "JSON"),
            ("ELEVENLABS_API_BASE_URL", "http://127.0.0.1:9/"),
        ]);
        let c = from(&vars, false).unwrap();
        assert_eq!(c.log.level, LogLevel::Warning);
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(c.api_base_url, "http://127.0.0.1:9");
    }
}
