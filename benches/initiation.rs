//! The conversation-initiation webhook next to `/health`, on the same release server (its own
//! process, `AGENT_UPDATE_MODE=override`, in-memory registry): requests/s, p50/p99 latency and
//! the server's CPU time per request, alternating the two endpoints over rounds and reporting
//! medians. `/health` is the floor — routing, one small JSON answer — so the ratio says what
//! the initiation answer (bearer check, body read, JSON parse, caller key HMAC, registry bind,
//! answer) costs on top.
//!
//! Before the rounds, 200 callers get a clone through pre-call webhooks (against a wiremock
//! standing in for ElevenLabs). Half the initiation requests come from those callers (the
//! answer carries their override, and binds a new call each time), half from unknown numbers
//! (the neutral answer).
//!
//! `cargo bench --bench initiation -- [CONNECTIONS] [REQUESTS] [ROUNDS]` (default 64 20000 3).
//! The load generator shares the machine with the server, so the figures are a floor.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::json;

use support::{cpu_time, free_port, median, mock_upstream, quantile, sign, start_server};

const TOKEN: &str = "bench-initiation-token-0123456789";
const KNOWN_CALLERS: usize = 200;

#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    Health,
    Initiation,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Self::Health => "GET /health",
            Self::Initiation => "POST /webhook/conversation-initiation",
        }
    }
}

struct Round {
    requests_per_second: f64,
    p50: Duration,
    p99: Duration,
    cpu_per_request: Duration,
    errors: usize,
}

fn caller(i: usize) -> String {
    format!("+3160000{i:04}")
}

async fn seed_callers(client: &reqwest::Client, base: &str) {
    let wav = precall_webhook::app::tone::wav(5.0, 16_000);
    let data = base64::engine::general_purpose::STANDARD.encode(wav);
    for i in 0..KNOWN_CALLERS {
        let body = json!({
            "type": "pre_call",
            "conversation_id": format!("conv_seed_{i}"),
            "agent_id": "agent_1",
            "caller_metadata": {"name": format!("Caller {i}"), "phone_number": caller(i)},
            "voice_sample": {"format": "base64", "data": data}
        })
        .to_string();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let response = client
            .post(format!("{base}/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", sign(now, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match response {
            Ok(r) if r.status() == 200 => {}
            other => panic!("seeding caller {i} failed: {other:?}"),
        }
    }
}

async fn round(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    endpoint: Endpoint,
    connections: usize,
    requests: usize,
    round_no: usize,
) -> Round {
    let per_worker = requests / connections;
    let cpu_before = cpu_time(pid);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for w in 0..connections {
        let (client, base) = (client.clone(), base.to_owned());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            let mut errors = 0usize;
            for n in 0..per_worker {
                let request = match endpoint {
                    Endpoint::Health => client.get(format!("{base}/health")),
                    Endpoint::Initiation => {
                        let i = (w * per_worker + n) % (2 * KNOWN_CALLERS);
                        let body = json!({
                            "caller_id": caller(i),
                            "agent_id": "agent_1",
                            "called_number": "+31201234567",
                            "call_sid": format!("CA{round_no}x{w}x{n}")
                        })
                        .to_string();
                        client
                            .post(format!("{base}/webhook/conversation-initiation"))
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .header("content-type", "application/json")
                            .body(body)
                    }
                };
                let start = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => response.status() == 200 && response.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(start.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for worker in workers {
        match worker.await {
            Ok((l, e)) => {
                latencies.extend(l);
                errors += e;
            }
            Err(_) => errors += per_worker,
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    latencies.sort();
    let done = (per_worker * connections).max(1);
    Round {
        requests_per_second: done as f64 / elapsed.as_secs_f64(),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        cpu_per_request: cpu / u32::try_from(done).unwrap_or(u32::MAX),
        errors,
    }
}

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

struct Summary {
    rps: f64,
    p50: f64,
    p99: f64,
    cpu_us: f64,
    errors: usize,
}

fn summarise(rounds: &[Round]) -> Summary {
    let pick = |f: &dyn Fn(&Round) -> f64| median(&mut rounds.iter().map(f).collect::<Vec<_>>());
    Summary {
        rps: pick(&|r| r.requests_per_second),
        p50: pick(&|r| r.p50.as_secs_f64() * 1e3),
        p99: pick(&|r| r.p99.as_secs_f64() * 1e3),
        cpu_us: pick(&|r| r.cpu_per_request.as_secs_f64() * 1e6),
        errors: rounds.iter().map(|r| r.errors).sum(),
    }
}

#[tokio::main]
async fn main() {
    let (connections, requests, rounds) = (arg(0, 64), arg(1, 20_000), arg(2, 3));
    let upstream = mock_upstream().await;
    let port = free_port();
    let defaults = r#"{"account_tier":"standard","max_minutes":30}"#;
    let mut server = start_server(
        &upstream,
        port,
        &[
            ("AGENT_UPDATE_MODE", "override"),
            ("CONVERSATION_INITIATION_TOKEN", TOKEN),
            ("INITIATION_DYNAMIC_VARIABLES", defaults),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default();
    support::wait_until_up(&client, &base).await;
    seed_callers(&client, &base).await;

    let mut results: Vec<(Endpoint, Vec<Round>)> = vec![
        (Endpoint::Health, Vec::new()),
        (Endpoint::Initiation, Vec::new()),
    ];
    for round_no in 0..rounds {
        for (endpoint, rounds) in &mut results {
            let r = round(
                &client,
                &base,
                server.id(),
                *endpoint,
                connections,
                requests,
                round_no,
            )
            .await;
            rounds.push(r);
        }
    }
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "{connections} connections, {requests} requests per round, medians of {rounds} rounds"
    );
    println!("| endpoint | req/s | p50 | p99 | server CPU per request | errors |");
    println!("|---|---|---|---|---|---|");
    let summaries: Vec<(Endpoint, Summary)> = results
        .iter()
        .map(|(endpoint, rounds)| (*endpoint, summarise(rounds)))
        .collect();
    for (endpoint, s) in &summaries {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.0} µs | {} |",
            endpoint.name(),
            s.rps,
            s.p50,
            s.p99,
            s.cpu_us,
            s.errors
        );
    }
    if let [(_, health), (_, initiation)] = &summaries[..] {
        println!(
            "initiation / health: {:.2}× the requests/s, {:.2}× the CPU per request",
            initiation.rps / health.rps,
            initiation.cpu_us / health.cpu_us
        );
    }
}
