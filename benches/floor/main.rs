//! The service against the floor: the release server and a minimal hand-written hyper service
//! doing only the essential work of a pre-call webhook (`baseline.rs`), driven alternately on
//! the same scenarios against the same mock upstream, with the ratio service/baseline per
//! scenario; then the conversation-initiation endpoint next to `/health` on the service.
//!
//! `cargo bench --bench floor` runs everything; words after `--` choose a subset and the size:
//! `json`, `multipart`, `flood`, `initiation` (scenarios), `service`, `baseline` (servers),
//! `rounds=N` (default 5), `scale=F` (requests per run × F, default 1), e.g.
//! `cargo bench --bench floor -- json service rounds=1 scale=10` to profile the service
//! (its pid is printed on stderr). Besides the medians, the service against the baseline as the
//! geometric mean of the per-round ratios with its 95 % interval (`rounds=20` resolves about
//! 4 %). `FLOOR_BASELINE_RUNTIME=current-thread` runs the baseline on the runtime the service
//! picks on one core. `PRECALL_WEBHOOK_BEFORE_BIN=/path/to/older/precall-webhook`
//! adds that build to every round (who goes first rotates) and more tables (`before_after.rs`):
//! both builds against the baseline, and this one against the older as the geometric mean of the
//! per-round ratios with its 95 % interval — the way to a before/after on a machine whose speed
//! drifts within the hour. `service` alone (no `baseline`) with a before build gives paired runs
//! of the two builds only, e.g. `multipart service rounds=20`.
//!
//! Scenarios, each at 64 connections (closed loop: a connection sends its next request when
//! the last one is answered): a 5 s WAV (160 KB) as a multipart file part; the same WAV base64
//! in JSON; a bad-signature flood (the same valid JSON body under a signature that does not
//! match: `401` after the HMAC). Every pre-call request carries its own conversation id, so the
//! service never answers from its ledger. The bodies and signatures are built before the timed
//! part; a fresh server per run, warmed with a few hundred requests first.
//!
//! Pinning: on a machine with at least two cores and `taskset` (util-linux), the server under
//! test runs on core 0 (started as `taskset -c 0 …`) and this process — load generator, mock
//! upstream and its tokio runtime — pins itself to core 1 (`taskset -a -p -c 1 PID`) before
//! starting any thread, so its threads inherit it. Each server then sizes its runtime to the one
//! core it sees. Without that, nothing is pinned and the bench says so.
//!
//! Figures: requests/s (wall time of the run) and the server's CPU time per request (user +
//! system of all its threads, `/proc/PID/stat`); per round the service's figure is divided by
//! the baseline's, and the table shows medians over rounds. The service runs with its shipped
//! defaults (`LOG_LEVEL=INFO`, logs to a discarded stdout; in-memory ledger and registry;
//! `MAX_CONCURRENT_CLONES=4`): every check it makes is on. That cap is the account's
//! protection, not a check, and the baseline has none: with four clones in flight against a
//! mock that answers in about a millisecond, the service's core waits on the mock. Run with
//! `MAX_CONCURRENT_CLONES=64` (one place per connection) to compare the CPU work alone.

#[path = "../support/mod.rs"]
mod support;

mod baseline;
mod before_after;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use wiremock::MockServer;

use support::cores::{LOAD_CORE, SERVER_CORE, can_pin, command_on, pin_self};
use support::drive::{Measured, measure};
use support::initiation::{self as initiation, Endpoint, SERVER_VARS};
use support::webhook::{Encoding, five_second_wav, request_body};
use support::{
    free_port, median, mock_upstream, reset_upstream, sign, start_binary_on, start_server_on,
    wait_until_up,
};

const CONNECTIONS: usize = 64;
/// Requests sent to a fresh server before the measured ones.
const WARM_UP: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Multipart,
    Json,
    BadSignature,
}

impl Scenario {
    const ALL: [Self; 3] = [Self::Multipart, Self::Json, Self::BadSignature];

    fn name(self) -> &'static str {
        match self {
            Self::Multipart => "multipart, 5 s WAV",
            Self::Json => "JSON base64, 5 s WAV",
            Self::BadSignature => "bad-signature flood",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Multipart => "multipart",
            Self::Json => "json",
            Self::BadSignature => "flood",
        }
    }

    /// Measured requests per run at scale 1: a couple of seconds each.
    fn requests(self) -> usize {
        match self {
            Self::Multipart | Self::Json => 3_000,
            Self::BadSignature => 8_000,
        }
    }

    fn expected_status(self) -> u16 {
        match self {
            Self::BadSignature => 401,
            Self::Multipart | Self::Json => 200,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    Service,
    Baseline,
    /// The build named by `PRECALL_WEBHOOK_BEFORE_BIN`, for a before/after in one alternation.
    Before,
}

impl Server {
    fn word(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Baseline => "baseline",
            Self::Before => "before",
        }
    }
}

/// Another build of the service to run in every round next to the two, when named: runs an
/// hour apart do not compare on a shared machine, runs in one alternation do.
fn before_binary() -> Option<std::ffi::OsString> {
    std::env::var_os("PRECALL_WEBHOOK_BEFORE_BIN")
}

/// One request, ready to send.
struct Prepared {
    body: Bytes,
    content_type: String,
    signature: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `count` requests of `scenario`: a conversation of its own each, signed; for the flood one
/// valid body under a wrong signature, shared.
fn prepare(scenario: Scenario, count: usize) -> Vec<Arc<Prepared>> {
    let audio = five_second_wav();
    match scenario {
        Scenario::BadSignature => {
            let (body, content_type) = request_body(0, &audio, Encoding::Json);
            // Signed over other bytes: well formed, in the window, and wrong.
            let signature = sign(now(), b"not this body");
            let one = Arc::new(Prepared {
                body: Bytes::from(body),
                content_type,
                signature,
            });
            vec![one; count]
        }
        Scenario::Json | Scenario::Multipart => {
            let encoding = if scenario == Scenario::Json {
                Encoding::Json
            } else {
                Encoding::Multipart
            };
            (0..count)
                .map(|i| {
                    let (body, content_type) = request_body(i, &audio, encoding);
                    Arc::new(Prepared {
                        signature: sign(now(), &body),
                        body: Bytes::from(body),
                        content_type,
                    })
                })
                .collect()
        }
    }
}

/// What to run, from the words after `--`.
struct Options {
    scenarios: Vec<Scenario>,
    servers: Vec<Server>,
    initiation: bool,
    rounds: usize,
    scale: f64,
}

impl Options {
    fn from_args() -> Self {
        let words: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        let picked = |word: &str| words.iter().any(|w| w == word);
        let value = |key: &str| {
            words
                .iter()
                .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse::<f64>().ok())
        };
        let mut scenarios: Vec<Scenario> = Scenario::ALL
            .into_iter()
            .filter(|s| picked(s.word()))
            .collect();
        let mut initiation = picked("initiation");
        if scenarios.is_empty() && !initiation {
            scenarios = Scenario::ALL.to_vec();
            initiation = true;
        }
        let mut servers: Vec<Server> = [Server::Service, Server::Baseline]
            .into_iter()
            .filter(|s| picked(s.word()))
            .collect();
        if servers.is_empty() {
            servers = vec![Server::Service, Server::Baseline];
        }
        if before_binary().is_some() {
            servers.push(Server::Before);
        }
        Self {
            scenarios,
            servers,
            initiation,
            rounds: value("rounds").map_or(5, |r| r.max(1.0) as usize),
            scale: value("scale").unwrap_or(1.0).max(0.01),
        }
    }

    fn requests(&self, base: usize) -> usize {
        ((base as f64 * self.scale) as usize).max(CONNECTIONS)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap_or_default()
}

/// Starts `server` on a fresh port (on `core` when given); its base URL and process.
fn launch(
    server: Server,
    core: Option<usize>,
    upstream: &MockServer,
) -> (String, std::process::Child) {
    let port = free_port();
    let child = match server {
        Server::Service => start_server_on(core, upstream, port, &[("LOG_LEVEL", "INFO")]),
        Server::Before => match before_binary() {
            Some(binary) => start_binary_on(core, binary, upstream, port, &[("LOG_LEVEL", "INFO")]),
            None => panic!("no PRECALL_WEBHOOK_BEFORE_BIN"),
        },
        Server::Baseline => {
            let exe = match std::env::current_exe() {
                Ok(exe) => exe,
                Err(e) => panic!("cannot find the bench's own executable: {e}"),
            };
            match command_on(core, exe)
                .args([baseline::SERVE_FLAG, &port.to_string(), &upstream.uri()])
                .stdout(std::process::Stdio::null())
                .spawn()
            {
                Ok(child) => child,
                Err(e) => panic!("cannot start the baseline: {e}"),
            }
        }
    };
    (format!("http://127.0.0.1:{port}"), child)
}

/// Sends `requests[range]` and says how it went.
async fn drive(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    scenario: Scenario,
    requests: &Arc<Vec<Arc<Prepared>>>,
    range: std::ops::Range<usize>,
) -> Measured {
    let (client, url, requests) = (
        client.clone(),
        format!("{base}/webhook"),
        Arc::clone(requests),
    );
    let expected = scenario.expected_status();
    let first = range.start;
    measure(pid, CONNECTIONS, range.len(), move |i| {
        let prepared = Arc::clone(&requests[first + i]);
        let request = client
            .post(&url)
            .header("content-type", prepared.content_type.as_str())
            .header("elevenlabs-signature", prepared.signature.as_str())
            .body(prepared.body.clone());
        async move {
            match request.send().await {
                Ok(response) => {
                    response.status().as_u16() == expected && response.bytes().await.is_ok()
                }
                Err(_) => false,
            }
        }
    })
    .await
}

/// One run: a fresh `server`, warmed up, then the measured requests.
async fn run(
    server: Server,
    core: Option<usize>,
    upstream: &MockServer,
    scenario: Scenario,
    requests: &Arc<Vec<Arc<Prepared>>>,
) -> Measured {
    reset_upstream(upstream).await;
    let (base, mut child) = launch(server, core, upstream);
    let client = client();
    wait_until_up(&client, &base).await;
    eprintln!(
        "  {} pid {}: {}",
        server.word(),
        child.id(),
        scenario.name()
    );
    drive(&client, &base, child.id(), scenario, requests, 0..WARM_UP).await;
    let measured = drive(
        &client,
        &base,
        child.id(),
        scenario,
        requests,
        WARM_UP..requests.len(),
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    measured
}

/// The median of the per-round ratios service / baseline, with the lowest and the highest: this
/// machine's speed can change by half between rounds, so the spread says how far to trust it.
fn ratio_of_medians(
    pairs: &[(Measured, Measured)],
    f: impl Fn(&Measured) -> f64,
) -> (f64, f64, f64) {
    let mut ratios: Vec<f64> = pairs.iter().map(|(s, b)| f(s) / f(b)).collect();
    let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(&mut ratios), lowest, highest)
}

fn median_of(runs: &[Measured], f: impl Fn(&Measured) -> f64) -> f64 {
    median(&mut runs.iter().map(f).collect::<Vec<_>>())
}

fn cpu_us(m: &Measured) -> f64 {
    m.cpu_per_request.as_secs_f64() * 1e6
}

fn rps(m: &Measured) -> f64 {
    m.requests_per_second
}

async fn compare(options: &Options, core: Option<usize>, upstream: &MockServer) {
    println!(
        "\n{CONNECTIONS} connections; medians of {} rounds, the servers alternating (who goes \
         first rotates); ratios: median of the per-round ratios (lowest–highest)",
        options.rounds
    );
    // The cap binds against a mock that answers in a millisecond: say which one this run had.
    match std::env::var("MAX_CONCURRENT_CLONES") {
        Ok(cap) => println!("service: MAX_CONCURRENT_CLONES={cap} (from this environment)"),
        Err(_) => println!(
            "service: MAX_CONCURRENT_CLONES=4 (the shipped default; the baseline has no cap)"
        ),
    }
    println!("baseline: {} runtime", baseline::runtime_name());
    println!(
        "| scenario | service req/s | baseline req/s | req/s ratio | service CPU/req | baseline CPU/req | CPU/req ratio | server core busy (service / baseline) | errors (service / baseline) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut before_after: before_after::BeforeAfter = Vec::new();
    let mut against_baseline: Vec<(Scenario, Vec<Measured>, Vec<Measured>)> = Vec::new();
    for &scenario in &options.scenarios {
        let requests = Arc::new(prepare(
            scenario,
            WARM_UP + options.requests(scenario.requests()),
        ));
        let mut runs: Vec<(Server, Measured)> = Vec::new();
        for round in 0..options.rounds {
            // Rotate who goes first, so a drift of the machine favours none.
            let mut order = options.servers.clone();
            let first = round % order.len();
            order.rotate_left(first);
            for server in order {
                let measured = run(server, core, upstream, scenario, &requests).await;
                eprintln!(
                    "    {:.0} req/s, {:.0} µs CPU/req, core {:.0} % busy (load core {:.0} %), {} errors",
                    measured.requests_per_second,
                    cpu_us(&measured),
                    measured.utilisation * 100.0,
                    measured.load_utilisation * 100.0,
                    measured.errors
                );
                runs.push((server, measured));
            }
        }
        let of = |server: Server| -> Vec<Measured> {
            runs.iter()
                .filter(|(s, _)| *s == server)
                .map(|(_, m)| *m)
                .collect()
        };
        let (service, baseline) = (of(Server::Service), of(Server::Baseline));
        let before = of(Server::Before);
        let pairs: Vec<(Measured, Measured)> = service
            .iter()
            .copied()
            .zip(baseline.iter().copied())
            .collect();
        let cell = |runs: &[Measured], f: &dyn Fn(&Measured) -> f64, unit: &str| {
            if runs.is_empty() {
                "–".to_owned()
            } else {
                format!("{:.0}{unit}", median_of(runs, f))
            }
        };
        let ratio = |f: &dyn Fn(&Measured) -> f64| {
            if pairs.is_empty() {
                "–".to_owned()
            } else {
                let (median, lowest, highest) = ratio_of_medians(&pairs, f);
                format!("**{median:.2}×** ({lowest:.2}–{highest:.2})")
            }
        };
        let busy = |runs: &[Measured]| cell(runs, &|m| m.utilisation * 100.0, " %");
        let errors = |runs: &[Measured]| runs.iter().map(|m| m.errors).sum::<usize>();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} |",
            scenario.name(),
            cell(&service, &rps, ""),
            cell(&baseline, &rps, ""),
            ratio(&rps),
            cell(&service, &cpu_us, " µs"),
            cell(&baseline, &cpu_us, " µs"),
            ratio(&cpu_us),
            busy(&service),
            busy(&baseline),
            errors(&service),
            errors(&baseline),
        );
        if !service.is_empty() && !baseline.is_empty() {
            against_baseline.push((scenario, service.clone(), baseline.clone()));
        }
        if !before.is_empty() && !service.is_empty() {
            before_after.push((scenario, before, service, baseline));
        }
    }
    print_paired_against_baseline(&against_baseline);
    before_after::print(&before_after);
}

/// The service against the baseline as the geometric mean of the per-round ratios with its
/// 95 % interval: the figure to quote from many rounds, where the median of a few is all the
/// first table can give.
fn print_paired_against_baseline(rows: &[(Scenario, Vec<Measured>, Vec<Measured>)]) {
    if rows.is_empty() {
        return;
    }
    before_after::table(
        &[
            "scenario",
            "CPU/req, service / baseline: geometric mean [95 %], pairs lower",
            "req/s, service / baseline: geometric mean [95 %], pairs lower",
        ],
        rows.iter().map(|(scenario, service, baseline)| {
            vec![
                scenario.name().to_owned(),
                before_after::paired_cell(service, baseline, cpu_us),
                before_after::paired_cell(service, baseline, rps),
            ]
        }),
    );
}

/// `/health` and the conversation-initiation webhook on one service, alternating.
async fn initiation_vs_health(options: &Options, core: Option<usize>, upstream: &MockServer) {
    let port = free_port();
    let mut server = start_server_on(core, upstream, port, &SERVER_VARS);
    let base = format!("http://127.0.0.1:{port}");
    let client = client();
    wait_until_up(&client, &base).await;
    initiation::seed_callers(&client, &base).await;
    let requests = options.requests(20_000);
    let mut results: Vec<(Endpoint, Vec<Measured>)> = vec![
        (Endpoint::Health, Vec::new()),
        (Endpoint::Initiation, Vec::new()),
    ];
    // Round 0 warms both endpoints up (connections opened, caches filled) and is not counted.
    for round_no in 0..=options.rounds {
        for (endpoint, rounds) in &mut results {
            let (client, base, endpoint) = (client.clone(), base.clone(), *endpoint);
            let count = if round_no == 0 { WARM_UP } else { requests };
            let measured = measure(server.id(), CONNECTIONS, count, move |i| {
                initiation::send(client.clone(), base.clone(), endpoint, round_no, i)
            })
            .await;
            if round_no > 0 {
                rounds.push(measured);
            }
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "\n{CONNECTIONS} connections, {requests} requests per round; medians of {} rounds, alternating",
        options.rounds
    );
    println!(
        "| endpoint | req/s | p50 | p99 | server CPU per request | server core busy | errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (endpoint, rounds) in &results {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {:.0} µs | {:.0} % | {} |",
            endpoint.name(),
            median_of(rounds, rps),
            median_of(rounds, |m| m.p50.as_secs_f64() * 1e3),
            median_of(rounds, |m| m.p99.as_secs_f64() * 1e3),
            median_of(rounds, cpu_us),
            median_of(rounds, |m| m.utilisation * 100.0),
            rounds.iter().map(|m| m.errors).sum::<usize>(),
        );
    }
    if let [(_, health), (_, initiation)] = &results[..] {
        let pairs: Vec<(Measured, Measured)> = initiation
            .iter()
            .copied()
            .zip(health.iter().copied())
            .collect();
        let (rps_ratio, rps_low, rps_high) = ratio_of_medians(&pairs, rps);
        let (cpu_ratio, cpu_low, cpu_high) = ratio_of_medians(&pairs, cpu_us);
        println!(
            "initiation / health: {rps_ratio:.2}× ({rps_low:.2}–{rps_high:.2}) the requests/s, \
             {cpu_ratio:.2}× ({cpu_low:.2}–{cpu_high:.2}) the CPU per request",
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == baseline::SERVE_FLAG) {
        let port = args.get(at + 1).and_then(|p| p.parse().ok());
        let upstream = args.get(at + 2).cloned();
        let (Some(port), Some(upstream)) = (port, upstream) else {
            panic!("usage: {} PORT UPSTREAM_URL", baseline::SERVE_FLAG);
        };
        baseline::serve(port, upstream);
        return;
    }
    let options = Options::from_args();
    // Pinned before any thread exists, so the runtime's threads inherit the core.
    let core = if can_pin() {
        match pin_self(LOAD_CORE) {
            Ok(()) => {
                println!(
                    "server on core {SERVER_CORE}; load generator and mock upstream on core {LOAD_CORE}"
                );
                Some(SERVER_CORE)
            }
            Err(e) => {
                println!("not pinned ({e}): server and load share the cores");
                None
            }
        }
    } else {
        println!(
            "not pinned (fewer than two cores, or no taskset): server and load share the cores"
        );
        None
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("no runtime: {e}"),
    };
    runtime.block_on(async {
        let upstream = mock_upstream().await;
        if !options.scenarios.is_empty() {
            compare(&options, core, &upstream).await;
        }
        if options.initiation {
            initiation_vs_health(&options, core, &upstream).await;
        }
    });
}
