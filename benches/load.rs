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

use bytes::Bytes;
use tokio::sync::Semaphore;
use wiremock::MockServer;

use support::webhook::{Encoding, request_body};
use support::{
    cpu_time, free_port, mock_upstream, peak_rss_mb, quantile, sign, start_server, wait_until_up,
};

#[derive(Clone, Copy)]
enum Sample {
    FiveSeconds,
    EightMegabytes,
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
    match sample {
        Sample::FiveSeconds => support::webhook::five_second_wav(),
        // 8 MB of 16-bit mono at 16 kHz is 250 s of audio.
        Sample::EightMegabytes => Bytes::from(precall_webhook::app::tone::wav(
            4_000_000.0 / 16_000.0,
            16_000,
        )),
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
