//! Timing of `SymphoniaProbe::probe` (the `AudioProbe` adapter on symphonia): median and p90
//! over `RUNS` runs per input.
//!
//! Plain `std::time::Instant`, no harness: needs `[[bench]] name = "probe" harness = false`
//! in Cargo.toml. Run with `cargo bench --bench probe`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use precall_webhook::adapters::SymphoniaProbe;
use precall_webhook::domain::SampleLimits;
use precall_webhook::ports::AudioProbe;

const RUNS: usize = 200;
const WARM_UP_RUNS: usize = 5;

const LIMITS: SampleLimits = SampleLimits {
    min_duration_seconds: 3.0,
    max_bytes: 20_000_000,
};

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read(&path) {
        Ok(bytes) => Bytes::from(bytes),
        Err(err) => panic!("cannot read {path}: {err}"),
    }
}

/// A 16 kHz mono 16-bit PCM WAV of exactly `total_bytes` bytes (44-byte header + data).
fn pcm_wav(total_bytes: usize) -> Bytes {
    let data_len = (total_bytes - 44) & !1;
    let mut wav = Vec::with_capacity(44 + data_len);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(data_len as u32).to_le_bytes());
    wav.extend((0..data_len).map(|i| (i % 251) as u8 / 8));
    Bytes::from(wav)
}

fn bench(label: &str, bytes: Bytes) {
    let probe_once = || {
        let started = Instant::now();
        let sample = SymphoniaProbe.probe(black_box(bytes.clone()), &LIMITS);
        let elapsed = started.elapsed();
        match sample {
            Ok(sample) => black_box(sample),
            Err(err) => panic!("{label}: {err}"),
        };
        elapsed
    };
    for _ in 0..WARM_UP_RUNS {
        probe_once();
    }
    let mut times: Vec<Duration> = (0..RUNS).map(|_| probe_once()).collect();
    times.sort_unstable();
    let median = times[RUNS / 2];
    let p90 = times[RUNS * 9 / 10];
    println!(
        "{label:<34} {:>10} bytes   median {:>10.1?}   p90 {:>10.1?}",
        bytes.len(),
        median,
        p90
    );
}

fn main() {
    println!("SymphoniaProbe::probe, {RUNS} runs each");
    bench("5 s WAV (header)", fixture("voice_5s.wav"));
    bench(
        "5 s MP3, Xing + ID3 (header)",
        fixture("voice_5s_xing_id3.mp3"),
    );
    bench(
        "5 s MP3, CBR no Xing (counted)",
        fixture("voice_5s_cbr_noxing.mp3"),
    );
    bench("5 s OGG Vorbis (last granule)", fixture("voice_5s.ogg"));
    bench("5 s FLAC (STREAMINFO)", fixture("voice_5s.flac"));
    bench("10 MB WAV, in memory (header)", pcm_wav(10_000_000));
}
