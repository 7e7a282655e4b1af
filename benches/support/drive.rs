//! A closed-loop load generator: `connections` workers, each sending its next request as soon
//! as the previous one is answered, until `requests` have been sent; with the server's CPU time
//! over the same interval, read from `/proc`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{cpu_time, quantile};

/// One measured run against one server.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Requests answered as expected, per second of wall time.
    pub requests_per_second: f64,
    /// Latency of the answers as expected.
    pub p50: Duration,
    /// Latency of the answers as expected.
    pub p99: Duration,
    /// The server's CPU time (user + system, all threads) per request sent.
    pub cpu_per_request: Duration,
    /// The server's CPU time over the wall time: 1.0 is one core kept busy.
    pub utilisation: f64,
    /// The same for this process (load generator and whatever else it hosts, such as the mock
    /// upstream): near 1.0 on one core, the load, not the server, set the pace.
    pub load_utilisation: f64,
    /// Requests not answered as expected.
    pub errors: usize,
}

/// Sends `requests` requests over `connections` workers; `send(i)` sends request `i` and says
/// whether it was answered as expected. The CPU time of process `pid` is read before and after.
pub async fn measure<F, Fut>(pid: u32, connections: usize, requests: usize, send: F) -> Measured
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu_time(pid);
    let load_before = cpu_time(std::process::id());
    let started = Instant::now();
    let mut workers = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (send, next) = (Arc::clone(&send), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let start = Instant::now();
                if send(i).await {
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
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time(pid).saturating_sub(cpu_before);
    let load = cpu_time(std::process::id()).saturating_sub(load_before);
    latencies.sort();
    Measured {
        requests_per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        cpu_per_request: cpu / u32::try_from(requests.max(1)).unwrap_or(u32::MAX),
        utilisation: cpu.as_secs_f64() / elapsed.as_secs_f64(),
        load_utilisation: load.as_secs_f64() / elapsed.as_secs_f64(),
        errors,
    }
}
