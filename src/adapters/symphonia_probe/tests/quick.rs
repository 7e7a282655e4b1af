//! Which samples are measured where they arrive instead of on a blocking pool: WAVs whose
//! header is small, whatever their length; nothing else.

use super::*;

fn quick(bytes: &[u8]) -> bool {
    SymphoniaProbe.measures_quickly(bytes)
}

/// `wav` with a `junk` chunk of `len` bytes inserted before its `fmt ` chunk.
fn with_junk_chunk(wav: &[u8], len: u32) -> Vec<u8> {
    let riff_len = u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) + 8 + len;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"junk");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend(std::iter::repeat_n(0u8, len as usize));
    out.extend_from_slice(&wav[12..]);
    out
}

#[test]
fn a_wav_with_a_small_header_is_measured_quickly_whatever_its_length() {
    assert!(quick(&fixture("voice_5s.wav")));
    assert!(
        quick(&pcm_wav(16_000, 1, 16, 16_000 * 250)),
        "8 MB of audio"
    );
    let padded = with_junk_chunk(&fixture("voice_5s.wav"), 1000);
    assert!(quick(&padded));
    assert_duration(&probe(padded, &LIMITS).unwrap(), 5.0, 0.01);
}

#[test]
fn a_wav_with_a_long_header_or_no_data_chunk_goes_to_the_blocking_pool() {
    let long_header = with_junk_chunk(&fixture("voice_5s.wav"), 8000);
    assert!(!quick(&long_header));
    assert_duration(&probe(long_header, &LIMITS).unwrap(), 5.0, 0.01);
    let wav = fixture("voice_5s.wav");
    assert!(!quick(&wav[..30]), "no data chunk");
}

#[test]
fn other_formats_and_non_audio_go_to_the_blocking_pool() {
    for name in [
        "voice_5s_xing_id3.mp3",
        "voice_5s_cbr_noxing.mp3",
        "voice_5s.ogg",
        "voice_5s.flac",
        "voice_5s.opus",
        "random.bin",
        "text.wav",
    ] {
        assert!(!quick(&fixture(name)), "{name}");
    }
    assert!(!quick(b""));
}
