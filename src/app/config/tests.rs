//! Tests of the configuration as a whole: defaults, required variables, one line per problem,
//! redaction and accepted spellings.

use std::collections::HashMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::domain::{AgentUpdateMode, WebhookSecret};

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
    assert_eq!(
        c.shutdown_grace,
        Duration::from_secs(50),
        "queue wait + deadline + rollback"
    );
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
    assert_eq!(c.max_body_bytes(), 13_333_336 + 5_000_001 + 65_536);
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

#[test]
fn refuses_an_idempotency_retention_shorter_than_the_signature_window() {
    let mut vars = KEYS.to_vec();
    vars.push(("IDEMPOTENCY_RETENTION_SECONDS", "1799"));
    let err = from(&vars, false).unwrap_err();
    assert_eq!(err.0.len(), 1, "{err}");
    assert!(
        err.0[0].starts_with("IDEMPOTENCY_RETENTION_SECONDS: invalid value (at least 1800 s"),
        "{err}"
    );
    vars.pop();
    vars.push(("IDEMPOTENCY_RETENTION_SECONDS", "1800"));
    assert!(from(&vars, false).is_ok());
}

#[test]
fn the_default_grace_covers_one_webhooks_worst_case_and_a_shorter_one_is_warned_about() {
    let c = from(&KEYS, false).unwrap();
    assert_eq!(c.shutdown_grace, c.longest_webhook());
    assert!(c.warnings().is_empty());
    let mut vars = KEYS.to_vec();
    vars.push(("SHUTDOWN_GRACE_SECONDS", "20"));
    let c = from(&vars, false).unwrap();
    assert_eq!(c.shutdown_grace, Duration::from_secs(20));
    let warnings = c.warnings();
    assert_eq!(warnings.len(), 1);
    for name in [
        "SHUTDOWN_GRACE_SECONDS",
        "CLONE_QUEUE_TIMEOUT_SECONDS",
        "ELEVENLABS_TIMEOUT_SECONDS",
    ] {
        assert!(warnings[0].contains(name), "{}", warnings[0]);
    }
}

#[test]
fn a_minimum_clone_attempt_must_fit_in_the_deadline() {
    let mut vars = KEYS.to_vec();
    vars.extend([
        ("ELEVENLABS_TIMEOUT_SECONDS", "4"),
        ("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "5"),
    ]);
    let err = from(&vars, false).unwrap_err();
    assert!(
        err.0[0].starts_with("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS"),
        "{err}"
    );
}

#[test]
fn lifecycle_defaults_and_a_bad_owner_tag_is_refused() {
    let c = from(&KEYS, false).unwrap();
    assert_eq!(c.lifecycle.reuse_max_age, Duration::from_secs(86_400));
    assert_eq!(c.lifecycle.owner_tag, "precall-webhook");
    assert!(
        c.caller_key_secret.is_none(),
        "derived from the webhook secret"
    );
    let mut vars = KEYS.to_vec();
    vars.extend([
        ("VOICE_OWNER_TAG", "team a"),
        ("VOICE_REUSE_MAX_AGE_SECONDS", "-1"),
    ]);
    let err = from(&vars, false).unwrap_err();
    let names: Vec<&str> = err.0.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(names, ["VOICE_REUSE_MAX_AGE_SECONDS", "VOICE_OWNER_TAG"]);
}

#[test]
fn a_configured_caller_key_secret_replaces_the_derived_one() {
    let derived = from(&KEYS, false)
        .unwrap()
        .caller_keys()
        .key_of("+31612345678");
    let mut vars = KEYS.to_vec();
    vars.push(("CALLER_KEY_SECRET", "another-secret"));
    let configured = from(&vars, false).unwrap();
    assert!(!format!("{configured:?}").contains("another-secret"));
    assert_ne!(configured.caller_keys().key_of("+31612345678"), derived);
}

#[test]
fn sweep_defaults_zero_turns_it_off_and_bad_values_are_refused() {
    let c = from(&KEYS, false).unwrap();
    assert_eq!(c.lifecycle.sweep_interval, Duration::from_secs(300));
    assert_eq!(c.lifecycle.orphan_grace, Duration::from_secs(900));
    assert_eq!(c.lifecycle.max_call, Duration::from_secs(3600));

    let mut vars = KEYS.to_vec();
    vars.extend([
        ("VOICE_SWEEP_INTERVAL_SECONDS", "0"),
        ("VOICE_ORPHAN_GRACE_SECONDS", "60"),
        ("MAX_CALL_SECONDS", "120"),
    ]);
    let c = from(&vars, false).unwrap();
    assert_eq!(c.lifecycle.sweep_interval, Duration::ZERO, "off");
    assert_eq!(c.lifecycle.orphan_grace, Duration::from_secs(60));
    assert_eq!(c.lifecycle.max_call, Duration::from_secs(120));

    let mut vars = KEYS.to_vec();
    vars.extend([
        ("VOICE_SWEEP_INTERVAL_SECONDS", "soon"),
        ("VOICE_ORPHAN_GRACE_SECONDS", "-5"),
        ("MAX_CALL_SECONDS", "0"),
    ]);
    let err = from(&vars, false).unwrap_err();
    let names: Vec<&str> = err.0.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "VOICE_SWEEP_INTERVAL_SECONDS",
            "VOICE_ORPHAN_GRACE_SECONDS",
            "MAX_CALL_SECONDS"
        ]
    );
}

#[test]
fn the_initiation_webhook_is_off_by_default_and_its_variables_are_checked() {
    let c = from(&KEYS, false).unwrap();
    assert!(c.initiation.token.is_none(), "off without a token");
    assert!(c.initiation.dynamic_variables.is_empty());
    assert_eq!(c.lifecycle.agent_update, AgentUpdateMode::Patch);

    let mut vars = KEYS.to_vec();
    vars.extend([
        ("CONVERSATION_INITIATION_TOKEN", " a-long-enough-token-123 "),
        (
            "INITIATION_DYNAMIC_VARIABLES",
            r#"{"account_tier":"standard","max_minutes":30,"vip":false}"#,
        ),
        ("AGENT_UPDATE_MODE", "Override"),
    ]);
    let c = from(&vars, false).unwrap();
    let token = c.initiation.token.as_ref().unwrap();
    assert!(token.admits(Some(b"Bearer a-long-enough-token-123")));
    assert_eq!(c.initiation.dynamic_variables["max_minutes"], 30);
    assert_eq!(c.lifecycle.agent_update, AgentUpdateMode::Override);
    assert!(!format!("{c:?}").contains("a-long-enough-token-123"));

    for (name, value, why) in [
        ("CONVERSATION_INITIATION_TOKEN", "short", "16 to 512"),
        (
            "CONVERSATION_INITIATION_TOKEN",
            "has spaces in the token",
            "visible ASCII",
        ),
        ("INITIATION_DYNAMIC_VARIABLES", "[1]", "JSON object"),
        (
            "INITIATION_DYNAMIC_VARIABLES",
            r#"{"system__time":"x"}"#,
            "reserved",
        ),
        (
            "INITIATION_DYNAMIC_VARIABLES",
            r#"{"caller_name":"x"}"#,
            "set by the service",
        ),
        (
            "INITIATION_DYNAMIC_VARIABLES",
            r#"{"tier":null}"#,
            "string, a number",
        ),
        (
            "INITIATION_DYNAMIC_VARIABLES",
            r#"{"tier":{"a":1}}"#,
            "string, a number",
        ),
        ("AGENT_UPDATE_MODE", "sometimes", "patch or override"),
    ] {
        let mut vars = KEYS.to_vec();
        vars.push((name, value));
        let err = from(&vars, false).unwrap_err().to_string();
        assert!(
            err.starts_with(name) && err.contains(why),
            "{name}={value}: {err}"
        );
        if name == "CONVERSATION_INITIATION_TOKEN" {
            assert!(!err.contains(value), "the token is not echoed: {err}");
        }
    }
}

#[test]
fn redis_url_takes_the_three_schemes_and_is_never_echoed() {
    assert!(
        from(&KEYS, false).unwrap().redis_url.is_none(),
        "memory by default"
    );
    for url in [
        "redis://:pw-123@redis:6379/0",
        "rediss://cache.example:6380",
        "redis+unix:///run/redis.sock",
    ] {
        let mut vars = KEYS.to_vec();
        vars.push(("REDIS_URL", url));
        let c = from(&vars, false).unwrap();
        assert_eq!(c.redis_url.as_ref().unwrap().expose_secret(), url);
        assert!(!format!("{c:?}").contains("pw-123"));
    }
    let mut vars = KEYS.to_vec();
    vars.push(("REDIS_URL", "http://pw-123@redis"));
    let err = from(&vars, false).unwrap_err().to_string();
    assert!(
        err.starts_with("REDIS_URL: invalid value") && !err.contains("pw-123"),
        "{err}"
    );
}
