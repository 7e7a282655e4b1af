//! Timing of signature verification over a 200 KB body (the HMAC over the raw bytes plus
//! header parsing and the constant-time compare): median and p90 over `RUNS` runs.
//! Run with `cargo bench --bench signature`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use precall_webhook::domain::WebhookSecret;
use secrecy::SecretString;

const RUNS: usize = 500;
const NOW: i64 = 1_765_370_096;

fn main() {
    let secret = match WebhookSecret::new(SecretString::from("bench-secret")) {
        Ok(secret) => secret,
        Err(e) => panic!("{e}"),
    };
    for size in [2_000usize, 200_000, 13_400_000] {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let header = secret.sign(NOW, &body);
        let mut times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let result = secret.verify(black_box(Some(&header)), black_box(&body), NOW);
                let elapsed = start.elapsed();
                assert!(result.is_ok());
                elapsed
            })
            .collect();
        times.sort();
        println!(
            "verify {:>10} bytes: median {:>9.1?}  p90 {:>9.1?}  ({:.0} MB/s)",
            size,
            times[RUNS / 2],
            times[RUNS * 9 / 10],
            size as f64 / times[RUNS / 2].as_secs_f64() / 1e6
        );
    }
}
