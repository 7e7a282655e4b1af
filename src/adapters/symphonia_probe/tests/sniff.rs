//! Format detection from magic numbers: each fixture's format, ID3v2 tags skipped or refused,
//! MPEG frame headers, and what is not one of ours.

use super::super::mpeg::MpegFrame;
use super::super::sniff::skip_id3v2;
use super::*;

#[test]
fn detects_each_fixture_format_from_its_magic_bytes() {
    let cases = [
        ("voice_5s.wav", Some(AudioFormat::Wav)),
        ("voice_1s.wav", Some(AudioFormat::Wav)),
        ("voice_5s_xing_id3.mp3", Some(AudioFormat::Mp3)),
        ("voice_5s_cbr_noxing.mp3", Some(AudioFormat::Mp3)),
        ("voice_5s.ogg", Some(AudioFormat::OggVorbis)),
        ("voice_5s.flac", Some(AudioFormat::Flac)),
        ("truncated_half.mp3", Some(AudioFormat::Mp3)),
        ("truncated_300b.ogg", Some(AudioFormat::OggVorbis)),
        ("voice_5s.opus", None),
        ("random.bin", None),
        ("text.wav", None),
    ];
    for (name, expected) in cases {
        assert_eq!(SymphoniaProbe::detect(&fixture(name)), expected, "{name}");
    }
}

#[test]
fn detects_an_mp3_without_id3_tag_and_skips_id3_padding() {
    let mp3 = fixture("voice_5s_xing_id3.mp3");
    let audio_start = skip_id3v2(&mp3).unwrap();
    assert!(audio_start > 10);
    let untagged = mp3.slice(audio_start..);
    assert_eq!(SymphoniaProbe::detect(&untagged), Some(AudioFormat::Mp3));
    assert_duration(&probe(untagged, &LIMITS).unwrap(), 5.0, 1e-9);
    let mut padded = mp3[..audio_start].to_vec();
    padded.extend_from_slice(&[0; 100]);
    padded.extend_from_slice(&mp3[audio_start..]);
    assert_duration(&probe(padded, &LIMITS).unwrap(), 5.0, 1e-9);
}

#[test]
fn refuses_malformed_id3_tags_as_not_audio() {
    let mp3 = fixture("voice_5s_xing_id3.mp3");
    let mut past_end = mp3.to_vec();
    past_end[6..10].copy_from_slice(&[0x7F, 0x7F, 0x7F, 0x7F]);
    let mut not_syncsafe = mp3.to_vec();
    not_syncsafe[9] = 0x80;
    for bytes in [past_end, not_syncsafe, b"ID3\x03\0\0\0\0".to_vec()] {
        assert_eq!(
            probe(bytes, &LIMITS).unwrap_err(),
            VoiceSampleError::NotAudio
        );
    }
}

#[test]
fn does_not_take_a_lone_mpeg_frame_header_for_an_mp3() {
    // A valid MPEG-1 layer III header (128 kbps, 44.1 kHz: 417-byte frame) with no second
    // frame where the first one ends.
    let mut bytes = vec![0xFF, 0xFB, 0x90, 0x64];
    bytes.extend((0..4_000u32).map(|i| (i * 7 % 256) as u8));
    assert_eq!(SymphoniaProbe::detect(&bytes), None);
    bytes[417..421].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
    assert_eq!(SymphoniaProbe::detect(&bytes), Some(AudioFormat::Mp3));
    // Free-format, layer I and reserved-version headers are not ours.
    for header in [
        [0xFF, 0xFB, 0x00, 0x64],
        [0xFF, 0xFF, 0x90, 0x64],
        [0xFF, 0xEB, 0x90, 0x64],
    ] {
        assert_eq!(MpegFrame::parse(&header).map(|f| f.len), None);
    }
}

#[test]
fn refuses_random_bytes_as_not_audio() {
    assert_eq!(
        probe(fixture("random.bin"), &LIMITS).unwrap_err(),
        VoiceSampleError::NotAudio
    );
}

#[test]
fn refuses_a_text_file_named_wav_as_not_audio() {
    let err = probe(fixture("text.wav"), &LIMITS).unwrap_err();
    assert_eq!(err, VoiceSampleError::NotAudio);
    assert_eq!(
        err.to_string(),
        "Voice sample is not audio in a supported format (WAV, MP3, OGG Vorbis, FLAC)"
    );
}

#[test]
fn refuses_ogg_opus_as_not_audio_because_only_vorbis_is_supported() {
    let opus = fixture("voice_5s.opus");
    assert!(opus.starts_with(b"OggS"));
    assert_eq!(
        probe(opus, &LIMITS).unwrap_err(),
        VoiceSampleError::NotAudio
    );
}
