//! Crafted files: metadata lengths that would make symphonia allocate gigabytes, and headers
//! that make it panic, all refused as undecodable.

use super::*;

#[test]
fn refuses_metadata_lengths_that_would_make_the_decoder_allocate_gigabytes() {
    // Found by the audio_probe fuzz target: each file is under 4 KB and declares a 4 GiB
    // comment, picture or INFO item that symphonia would allocate before reading it.
    for (name, format) in [
        ("flac_picture_media_type_len_4g.flac", AudioFormat::Flac),
        ("flac_vorbis_comment_len_4g.flac", AudioFormat::Flac),
        ("fuzzer_found_flac_comment_oom.flac", AudioFormat::Flac),
        ("ogg_vorbis_comment_len_4g.ogg", AudioFormat::OggVorbis),
        ("wav_info_item_len_4g.wav", AudioFormat::Wav),
    ] {
        let reason =
            undecodable_reason(probe(fixture(&format!("hostile/{name}")), &LIMITS), format);
        assert!(reason.starts_with("malformed metadata"), "{name}: {reason}");
    }
}

#[test]
fn turns_a_symphonia_panic_on_a_crafted_wav_header_into_undecodable() {
    // WAVE_FORMAT_EXTENSIBLE, PCM sub-format, 0 bits per coded sample: symphonia 0.5.5 hits
    // `unreachable!()` in its fmt parser, in release builds too.
    let mut fmt = Vec::new();
    for v in [0xFFFEu16, 1] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&16_000u32.to_le_bytes());
    fmt.extend_from_slice(&32_000u32.to_le_bytes());
    for v in [2u16, 0, 22, 0] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&4u32.to_le_bytes());
    fmt.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    let wav = riff_wave(&fmt, 0, &[]);
    let reason = undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
    assert_eq!(reason, "malformed data (the decoder crashed)");
}

#[test]
fn turns_the_panic_on_a_crafted_44_byte_wav_with_sample_rate_zero_into_undecodable() {
    // symphonia 0.5.5 builds `TimeBase::new(1, 0)`, which asserts (release builds too).
    let mut wav = pcm_wav(16_000, 1, 16, 0);
    wav[24..28].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(wav.len(), 44);
    let reason = undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
    assert_eq!(reason, "malformed data (the decoder crashed)");
}

#[test]
fn refuses_a_crafted_adpcm_wav_with_zero_block_align_without_panicking() {
    // IMA ADPCM, block_align 0: `block_align - 4 * channels` overflows in symphonia (a panic
    // in debug builds, a wrap in release); ADPCM is not enabled either way. 48 bytes.
    let mut fmt = Vec::new();
    for v in [0x11u16, 1] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&8_000u32.to_le_bytes());
    fmt.extend_from_slice(&4_000u32.to_le_bytes());
    for v in [0u16, 4, 2, 1017] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    let wav = riff_wave(&fmt, 0, &[]);
    assert_eq!(wav.len(), 48);
    undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
}

#[test]
fn refuses_wavs_with_a_zero_or_absurd_sample_rate_or_no_channels() {
    for (offset, value) in [(24, 0u32), (24, 1), (24, 50_000_000)] {
        let mut wav = pcm_wav(16_000, 1, 16, 80_000);
        wav[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
    }
    let mut wav = pcm_wav(16_000, 1, 16, 80_000);
    wav[22..24].copy_from_slice(&0u16.to_le_bytes());
    undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
}
