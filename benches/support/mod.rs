//! What the load benches share: the release server as its own process (with environment
//! overrides passed through from the bench's own environment), a wiremock standing in for
//! ElevenLabs that makes a new voice id per clone, signing, and the server's CPU time and peak
//! RSS read from `/proc`.

#![allow(dead_code)] // Each bench uses its own subset.

pub mod cores;
pub mod drive;
pub mod initiation;
pub mod webhook;

use std::collections::HashMap;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The webhook secret of the bench server.
pub const SECRET: &str = "bench-secret";

/// Answers every clone with a new voice id, as ElevenLabs does.
struct NewVoiceEachTime(AtomicUsize);

impl Respond for NewVoiceEachTime {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "voice_id": format!("voice_bench_{n:06}"),
            "requires_verification": false
        }))
    }
}

/// A stand-in for ElevenLabs that clones (a new id each time), patches and reads agents.
pub async fn mock_upstream() -> MockServer {
    let upstream = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    mount_upstream(&upstream).await;
    upstream
}

/// Forgets what `upstream` received and mounts its answers afresh. A mounted mock keeps every
/// request it matched (even with recording off): a long bench must call this between runs,
/// or the uploads pile up until the machine runs out of memory (rounds=8 of the floor bench
/// reached 24 GB).
pub async fn reset_upstream(upstream: &MockServer) {
    upstream.reset().await;
    mount_upstream(upstream).await;
}

async fn mount_upstream(upstream: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(NewVoiceEachTime(AtomicUsize::new(0)))
        .mount(upstream)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/v1/convai/agents/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(upstream)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/v1/convai/agents/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "conversation_config": {"tts": {"voice_id": "voice_default"},
                                    "agent": {"first_message": "Welkom!"}}
        })))
        .mount(upstream)
        .await;
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(3999)
}

/// Starts the release server on `port` against `upstream`, with `extra` variables on top.
/// Settings to try (`MAX_CONCURRENT_CLONES=8`, `LOG_LEVEL=INFO`, `REDIS_URL`…) pass through
/// from the bench's own environment.
pub fn start_server(upstream: &MockServer, port: u16, extra: &[(&str, &str)]) -> Child {
    start_server_on(None, upstream, port, extra)
}

/// [`start_server`], on `core` when given (see [`cores`]). `PRECALL_WEBHOOK_BIN` in the
/// bench's environment names another build of the server to start instead.
pub fn start_server_on(
    core: Option<usize>,
    upstream: &MockServer,
    port: u16,
    extra: &[(&str, &str)],
) -> Child {
    // Another build of the service (an older commit, for a before/after) when named.
    let binary = std::env::var_os("PRECALL_WEBHOOK_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_precall-webhook").into());
    start_binary_on(core, binary, upstream, port, extra)
}

/// [`start_server_on`] with the server's executable given.
pub fn start_binary_on(
    core: Option<usize>,
    binary: std::ffi::OsString,
    upstream: &MockServer,
    port: u16,
    extra: &[(&str, &str)],
) -> Child {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("ELEVENLABS_API_KEY", "sk_bench".to_owned()),
        ("ELEVENLABS_WEBHOOK_SECRET", SECRET.to_owned()),
        ("ELEVENLABS_API_BASE_URL", upstream.uri()),
        ("PRECALL_WEBHOOK_HOST", "127.0.0.1".to_owned()),
        ("PRECALL_WEBHOOK_PORT", port.to_string()),
        ("LOG_LEVEL", "ERROR".to_owned()),
        ("VOICE_SWEEP_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let overrides = std::env::vars().filter(|(k, _)| {
        k.starts_with("CLONE_")
            || k.starts_with("MAX_")
            || k.starts_with("CIRCUIT_")
            || k == "LOG_LEVEL"
            || k == "REDIS_URL"
    });
    match cores::command_on(core, binary)
        .arg("serve")
        .env_clear()
        .envs(vars)
        .envs(overrides)
        .stdout(if std::env::var_os("LOG_LEVEL").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!("cannot start the server: {e}"),
    }
}

/// Waits until the server at `base` answers `/health`.
pub async fn wait_until_up(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if client.get(format!("{base}/health")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up at {base}");
}

/// `t=…,v0=…` for `body` sent at `timestamp`.
pub fn sign(timestamp: u64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v0={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The process's peak resident set (`VmHWM`), MB.
pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU time (user + system) the process has used so far, from `/proc/<pid>/stat` (clock ticks
/// of 10 ms, Linux's `USER_HZ`).
pub fn cpu_time(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name may hold spaces: count fields after its closing parenthesis.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The `q` quantile of sorted `latencies`.
pub fn quantile(latencies: &[Duration], q: f64) -> Duration {
    let i = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
    latencies.get(i).copied().unwrap_or_default()
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
