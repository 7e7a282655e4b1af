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

use std::time::Duration;

use support::drive::{Measured, measure};
use support::initiation::{Endpoint, SERVER_VARS, seed_callers, send};
use support::{free_port, median, mock_upstream, start_server};

async fn round(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    endpoint: Endpoint,
    connections: usize,
    requests: usize,
    round_no: usize,
) -> Measured {
    let (client, base) = (client.clone(), base.to_owned());
    measure(pid, connections, requests, move |i| {
        send(client.clone(), base.clone(), endpoint, round_no, i)
    })
    .await
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

fn summarise(rounds: &[Measured]) -> Summary {
    let pick = |f: &dyn Fn(&Measured) -> f64| median(&mut rounds.iter().map(f).collect::<Vec<_>>());
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
    let mut server = start_server(&upstream, port, &SERVER_VARS);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default();
    support::wait_until_up(&client, &base).await;
    seed_callers(&client, &base).await;

    let mut results: Vec<(Endpoint, Vec<Measured>)> = vec![
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
