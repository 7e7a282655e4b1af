//! Tests of the symphonia probe against the fixtures in tests/fixtures/audio and generated
//! WAVs. This file holds what the test files share: the limits, fixture loading, the probe call
//! and WAV builders.

mod hostile;
mod limits;
mod measure;
mod plain_wav;
mod quick;
mod robustness;
mod sniff;
mod truncated;

use bytes::Bytes;

use super::SymphoniaProbe;
use crate::domain::{AudioFormat, SampleLimits, VoiceSample, VoiceSampleError};
use crate::ports::AudioProbe;

const LIMITS: SampleLimits = SampleLimits {
    min_duration_seconds: 3.0,
    max_bytes: 10_000_000,
};

const ANY_LENGTH: SampleLimits = SampleLimits {
    min_duration_seconds: 0.0,
    max_bytes: 10_000_000,
};

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn probe(bytes: impl Into<Bytes>, limits: &SampleLimits) -> Result<VoiceSample, VoiceSampleError> {
    SymphoniaProbe.probe(bytes.into(), limits)
}

fn assert_duration(sample: &VoiceSample, expected: f64, tolerance: f64) {
    let got = sample.duration_seconds();
    assert!(
        (got - expected).abs() <= tolerance,
        "{sample:?}: expected {expected} s ± {tolerance}"
    );
}

fn undecodable_reason(
    result: Result<VoiceSample, VoiceSampleError>,
    format: AudioFormat,
) -> String {
    match result {
        Err(VoiceSampleError::Undecodable { format: f, reason }) if f == format => reason,
        other => panic!("expected Undecodable {format}, got {other:?}"),
    }
}

/// A canonical PCM WAV: 44-byte header, then a quiet sawtooth.
fn pcm_wav(sample_rate: u32, channels: u16, bits: u16, frames: u64) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&sample_rate.to_le_bytes());
    fmt.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let body: Vec<u8> = (0..frames * u64::from(block_align))
        .map(|i| (i % 251) as u8 / 8)
        .collect();
    riff_wave(&fmt, body.len() as u32, &body)
}

/// RIFF/WAVE with the given fmt chunk body, a data chunk whose size field is `data_len`, and
/// `body` after it (which may be shorter or longer than `data_len`).
fn riff_wave(fmt: &[u8], data_len: u32, body: &[u8]) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    let riff_len = (4 + 8 + fmt.len() as u32 + 8).saturating_add(data_len);
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(body);
    out
}
