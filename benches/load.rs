//! End-to-end load: the real server (release build, ElevenLabs HTTP adapter) against a local
//! wiremock standing in for ElevenLabs, driven by signed JSON webhooks with unique
//! conversation ids. Reports requests/s, p50/p99 latency and errors.
//!
//! `cargo bench --bench load -- [CONCURRENCY] [REQUESTS] [SAMPLE_SECONDS]`
//! (defaults 64, 2000, 5). Server, mock and load generator share this process and its cores,
//! so the figures are a floor, not a ceiling.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use precall_webhook::app::config::Config;
use precall_webhook::app::startup::{Application, Backends};
use precall_webhook::domain::WebhookSecret;
use secrecy::SecretString;
use tokio::sync::Semaphore;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "bench-secret";

fn arg(n: usize, default: f64) -> f64 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let concurrency = arg(0, 64.0) as usize;
    let requests = arg(1, 2000.0) as usize;
    let seconds = arg(2, 5.0);

    let upstream = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"voice_id": "voice_bench", "requires_verification": false}),
        ))
        .mount(&upstream)
        .await;
    Mock::given(method("PATCH"))
        .and(path_regex("^/v1/convai/agents/.+$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&upstream)
        .await;

    let vars: HashMap<&str, String> = HashMap::from([
        ("ELEVENLABS_API_KEY", "sk_bench".to_owned()),
        ("ELEVENLABS_WEBHOOK_SECRET", SECRET.to_owned()),
        ("ELEVENLABS_API_BASE_URL", upstream.uri()),
        ("PRECALL_WEBHOOK_HOST", "127.0.0.1".to_owned()),
        ("PRECALL_WEBHOOK_PORT", "0".to_owned()),
        ("LOG_LEVEL", "ERROR".to_owned()),
    ]);
    let config = match Config::from_vars(|k| vars.get(k).cloned(), false) {
        Ok(config) => config,
        Err(e) => panic!("config: {e}"),
    };
    let backends = match Backends::elevenlabs(&config) {
        Ok(b) => b,
        Err(e) => panic!("backends: {e}"),
    };
    let app = match Application::build(&config, backends).await {
        Ok(app) => app,
        Err(e) => panic!("app: {e}"),
    };
    let url = format!("http://{}/webhook", app.address());
    tokio::spawn(app.run_until(std::future::pending()));

    let audio = base64::engine::general_purpose::STANDARD
        .encode(precall_webhook::app::tone::wav(seconds, 16_000));
    let secret = match WebhookSecret::new(SecretString::from(SECRET)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap_or_default();
    let limit = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for i in 0..requests {
        let permit = Arc::clone(&limit).acquire_owned().await;
        let body = format!(
            r#"{{"type":"pre_call","conversation_id":"conv_bench_{i}","agent_id":"agent_1","caller_metadata":{{"name":"Ivan"}},"voice_sample":{{"format":"base64","data":"{audio}"}}}}"#
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let signature = secret.sign(now, body.as_bytes());
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let start = Instant::now();
            let ok = client
                .post(&url)
                .header("content-type", "application/json")
                .header("elevenlabs-signature", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (start.elapsed(), ok)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let mut errors = 0usize;
    for task in tasks {
        match task.await {
            Ok((latency, true)) => latencies.push(latency),
            _ => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{requests} requests, {concurrency} concurrent, {seconds} s WAV ({} KB body): \
         {:.0} req/s, p50 {:.1?}, p99 {:.1?}, errors {errors}",
        audio.len() / 1000,
        requests as f64 / elapsed.as_secs_f64(),
        pick(0.50),
        pick(0.99),
    );
}
