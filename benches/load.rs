//! Load benchmark: the release server as its own process, with the real ElevenLabs HTTP adapter
//! pointed at a local wiremock standing in for ElevenLabs, driven by signed webhooks with unique
//! conversation ids. Reports requests/s, p50/p99 latency, errors (anything but 200), and the
//! server's peak RSS (`VmHWM` from `/proc/<pid>/status`; a fresh server per scenario).
//!
//! `cargo bench --bench load` runs the four scenarios of the README table;
//! `cargo bench --bench load -- CONNECTIONS REQUESTS SAMPLE ENCODING` runs one, where SAMPLE is
//! `5s` (a 5 s 16 kHz WAV, 160 KB) or `8mb` (an 8 MB WAV) and ENCODING is `json` or `multipart`.
//!
//! The mock upstream and the load generator share the machine with the server, so the figures
//! are a floor.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use bytes::Bytes;
use tokio::sync::Semaphore;
use wiremock::MockServer;

use support::{
    cpu_time, free_port, mock_upstream, peak_rss_mb, quantile, sign, start_server, wait_until_up,
};

const BOUNDARY: &str = "precallbenchboundary";

#[derive(Clone, Copy)]
enum Sample {
    FiveSeconds,
    EightMegabytes,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Json,
    Multipart,
}

struct Scenario {
    connections: usize,
    requests: usize,
    sample: Sample,
    encoding: Encoding,
}

struct Report {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    peak_rss_mb: f64,
    cpu_per_request: Duration,
}

fn audio(sample: Sample) -> Bytes {
    let wav = match sample {
        Sample::FiveSeconds => precall_webhook::app::tone::wav(5.0, 16_000),
        // 8 MB of 16-bit mono at 16 kHz is 250 s of audio.
        Sample::EightMegabytes => precall_webhook::app::tone::wav(4_000_000.0 / 16_000.0, 16_000),
    };
    Bytes::from(wav)
}

/// Body and content type of request `i`.
fn request_body(i: usize, audio: &Bytes, encoding: Encoding) -> (Vec<u8>, String) {
    let meta = format!(
        r#"{{"type":"pre_call","conversation_id":"conv_bench_{i}","agent_id":"agent_1","caller_metadata":{{"name":"Ivan"}}"#
    );
    match encoding {
        Encoding::Json => {
            let data = base64::engine::general_purpose::STANDARD.encode(audio);
            let body = format!(r#"{meta},"voice_sample":{{"format":"base64","data":"{data}"}}}}"#);
            (body.into_bytes(), "application/json".into())
        }
        Encoding::Multipart => {
            let mut body = Vec::with_capacity(audio.len() + 512);
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{meta}}}\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"voice_sample\"; filename=\"sample.wav\"\r\nContent-Type: audio/wav\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(audio);
            body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
            (body, format!("multipart/form-data; boundary={BOUNDARY}"))
        }
    }
}

async fn run(scenario: &Scenario, upstream: &MockServer) -> Report {
    let port = free_port();
    let mut server = start_server(upstream, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(scenario.connections)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default();
    wait_until_up(&client, &base).await;

    let audio = audio(scenario.sample);
    let url = format!("{base}/webhook");
    let limit = Arc::new(Semaphore::new(scenario.connections));
    let cpu_before = cpu_time(server.id());
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(scenario.requests);
    for i in 0..scenario.requests {
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let (client, url, audio, encoding) = (
            client.clone(),
            url.clone(),
            audio.clone(),
            scenario.encoding,
        );
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let (body, content_type) = request_body(i, &audio, encoding);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let signature = sign(now, &body);
            let start = Instant::now();
            let status = client
                .post(&url)
                .header("content-type", content_type)
                .header("elevenlabs-signature", signature)
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16());
            (start.elapsed(), status)
        }));
    }
    let mut latencies = Vec::with_capacity(scenario.requests);
    let mut errors = 0usize;
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        match task.await {
            Ok((latency, Ok(200))) => latencies.push(latency),
            Ok((_, Ok(status))) => {
                errors += 1;
                *statuses.entry(status.to_string()).or_default() += 1;
            }
            Ok((_, Err(e))) => {
                errors += 1;
                *statuses.entry(format!("transport: {e}")).or_default() += 1;
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    if !statuses.is_empty() {
        eprintln!("  errors by kind: {statuses:?}");
    }
    let peak_rss_mb = peak_rss_mb(server.id());
    let cpu = cpu_time(server.id()).saturating_sub(cpu_before);
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort();
    Report {
        requests_per_second: scenario.requests as f64 / elapsed.as_secs_f64(),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        errors,
        peak_rss_mb,
        cpu_per_request: cpu / u32::try_from(scenario.requests.max(1)).unwrap_or(u32::MAX),
    }
}

fn positional() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect()
}

fn scenarios() -> Vec<Scenario> {
    let args = positional();
    if args.len() >= 4 {
        let sample = if args[2] == "8mb" {
            Sample::EightMegabytes
        } else {
            Sample::FiveSeconds
        };
        let encoding = if args[3] == "multipart" {
            Encoding::Multipart
        } else {
            Encoding::Json
        };
        return vec![Scenario {
            connections: args[0].parse().unwrap_or(64),
            requests: args[1].parse().unwrap_or(1000),
            sample,
            encoding,
        }];
    }
    vec![
        Scenario {
            connections: 64,
            requests: 2_000,
            sample: Sample::FiveSeconds,
            encoding: Encoding::Json,
        },
        Scenario {
            connections: 512,
            requests: 4_096,
            sample: Sample::FiveSeconds,
            encoding: Encoding::Json,
        },
        Scenario {
            connections: 64,
            requests: 256,
            sample: Sample::EightMegabytes,
            encoding: Encoding::Multipart,
        },
        Scenario {
            connections: 512,
            requests: 1_024,
            sample: Sample::EightMegabytes,
            encoding: Encoding::Multipart,
        },
    ]
}

#[tokio::main]
async fn main() {
    let upstream = mock_upstream().await;
    println!(
        "| connections | requests | sample | body | req/s | p50 | p99 | errors | server peak RSS | server CPU per request |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for scenario in scenarios() {
        let report = run(&scenario, &upstream).await;
        let sample = match scenario.sample {
            Sample::FiveSeconds => "5 s WAV",
            Sample::EightMegabytes => "8 MB WAV",
        };
        let body = match scenario.encoding {
            Encoding::Json => "JSON",
            Encoding::Multipart => "multipart",
        };
        println!(
            "| {} | {} | {sample} | {body} | {:.0} | {:.0?} | {:.0?} | {} | {:.0} MB | {} µs |",
            scenario.connections,
            scenario.requests,
            report.requests_per_second,
            report.p50,
            report.p99,
            report.errors,
            report.peak_rss_mb,
            report.cpu_per_request.as_micros(),
        );
    }
}
