//! Property tests: arbitrary bytes, alone, behind each magic header, or as damaged fixtures,
//! never make the probe panic or hang, and what it returns stays within its documented bounds.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::super::measure::MAX_REASON_CHARS;
use super::super::sniff::skip_id3v2;
use super::*;

/// Prefixes that pass `detect`, to push arbitrary bytes into each reader.
fn magic_prefixes() -> Vec<Vec<u8>> {
    let mut prefixes = vec![
        b"RIFF\xff\xff\xff\xffWAVE".to_vec(),
        riff_wave(&pcm_wav(16_000, 1, 16, 0)[20..36], u32::MAX, &[]),
        b"fLaC".to_vec(),
        b"ID3\x04\x00\x00\x00\x00\x00\x00fLaC".to_vec(),
    ];
    for name in [
        "voice_5s.wav",
        "voice_5s.ogg",
        "voice_5s.flac",
        "voice_5s_cbr_noxing.mp3",
    ] {
        for len in [12, 44, 58, 200, 500, 4_000] {
            prefixes.push(fixture(name)[..len].to_vec());
        }
    }
    prefixes.push(
        fixture("voice_5s_xing_id3.mp3")
            [..skip_id3v2(&fixture("voice_5s_xing_id3.mp3")).unwrap_or(0) + 300]
            .to_vec(),
    );
    prefixes
}

fn assert_sane(result: &Result<VoiceSample, VoiceSampleError>, started: Instant) {
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    if let Ok(sample) = result {
        let d = sample.duration_seconds();
        assert!(d.is_finite() && d >= 0.0, "{sample:?}");
    }
    if let Err(VoiceSampleError::Undecodable { reason, .. }) = result {
        assert!(reason.chars().count() <= MAX_REASON_CHARS);
    }
}

proptest! {

    #[test]
    fn never_panics_or_hangs_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
        let started = Instant::now();
        let result = probe(bytes, &ANY_LENGTH);
        assert_sane(&result, started);
    }

    #[test]
    fn never_panics_or_hangs_on_arbitrary_bytes_behind_each_magic_header(
        which in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..4_096),
    ) {
        let prefixes = magic_prefixes();
        let mut bytes = prefixes[which.index(prefixes.len())].clone();
        bytes.extend_from_slice(&tail);
        let started = Instant::now();
        let result = probe(bytes, &ANY_LENGTH);
        assert_sane(&result, started);
    }

    #[test]
    fn never_panics_or_hangs_on_damaged_fixtures(
        which in 0usize..6,
        damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        in_headers in any::<bool>(),
    ) {
        let name = ["voice_5s.wav", "voice_5s_xing_id3.mp3", "voice_5s_cbr_noxing.mp3",
            "voice_5s.ogg", "voice_5s.flac", "voice_1s.wav"][which];
        let mut bytes = fixture(name).to_vec();
        // Half the cases hit only the first 256 bytes, where the headers are.
        let span = if in_headers { bytes.len().min(256) } else { bytes.len() };
        for (at, value) in damage {
            let at = at.index(span);
            bytes[at] = value;
        }
        bytes.truncate(cut.index(bytes.len()) + 1);
        let started = Instant::now();
        let result = probe(bytes, &ANY_LENGTH);
        assert_sane(&result, started);
    }
}
