//! Measuring whole files: the duration from each container's header (or by counting frames),
//! sample rate and channels, and the bytes kept as given.

use super::*;

#[test]
fn measures_a_five_second_wav_from_its_header() {
    let sample = probe(fixture("voice_5s.wav"), &LIMITS).unwrap();
    assert_eq!(sample.format(), AudioFormat::Wav);
    assert_eq!((sample.sample_rate(), sample.channels()), (16_000, 1));
    assert_duration(&sample, 5.0, 1e-9);
}

#[test]
fn measures_a_five_second_mp3_from_its_xing_header_behind_an_id3_tag() {
    let sample = probe(fixture("voice_5s_xing_id3.mp3"), &LIMITS).unwrap();
    assert_eq!(sample.format(), AudioFormat::Mp3);
    assert_eq!((sample.sample_rate(), sample.channels()), (16_000, 1));
    // The LAME tag's encoder delay and padding are taken off: exactly the 80 000 input samples.
    assert_duration(&sample, 5.0, 1e-9);
}

#[test]
fn measures_a_five_second_cbr_mp3_without_xing_header_by_counting_frames() {
    let sample = probe(fixture("voice_5s_cbr_noxing.mp3"), &LIMITS).unwrap();
    assert_eq!(sample.format(), AudioFormat::Mp3);
    // 141 frames of 576 samples; no tag, so the encoder delay and padding stay in.
    assert_duration(&sample, 141.0 * 576.0 / 16_000.0, 1e-9);
}

#[test]
fn measures_a_five_second_ogg_vorbis_from_its_last_granule() {
    let sample = probe(fixture("voice_5s.ogg"), &LIMITS).unwrap();
    assert_eq!(sample.format(), AudioFormat::OggVorbis);
    assert_eq!((sample.sample_rate(), sample.channels()), (16_000, 1));
    assert_duration(&sample, 5.0, 0.03);
}

#[test]
fn measures_a_five_second_flac_from_its_streaminfo() {
    let sample = probe(fixture("voice_5s.flac"), &LIMITS).unwrap();
    assert_eq!(sample.format(), AudioFormat::Flac);
    assert_eq!((sample.sample_rate(), sample.channels()), (16_000, 1));
    assert_duration(&sample, 5.0, 1e-9);
}

#[test]
fn keeps_the_bytes_it_was_given_without_copying_them() {
    let bytes = fixture("voice_5s.flac");
    let sample = probe(bytes.clone(), &LIMITS).unwrap();
    assert_eq!((sample.len(), sample.is_empty()), (bytes.len(), false));
    assert_eq!(sample.bytes().as_ptr(), bytes.as_ptr());
    assert_eq!(sample.into_bytes(), bytes);
}

#[test]
fn debug_output_shows_length_format_and_duration_but_no_bytes() {
    let sample = probe(pcm_wav(8_000, 1, 8, 32_000), &LIMITS).unwrap();
    assert_eq!(
        format!("{sample:?}"),
        "VoiceSample { len: 32044, format: Wav, duration_seconds: 4.0 }"
    );
}

#[test]
fn measures_generated_wavs_of_several_durations_exactly() {
    for (rate, channels, bits, frames) in [
        (16_000, 1, 16, 48_000),
        (16_000, 1, 16, 47_999),
        (22_050, 1, 16, 160_000),
        (8_000, 1, 8, 24_000),
        (44_100, 2, 24, 441_000),
        (48_000, 2, 32, 150_000),
    ] {
        let wav = pcm_wav(rate, channels, bits, frames);
        let expected = frames as f64 / f64::from(rate);
        match probe(wav, &LIMITS) {
            Ok(sample) => {
                assert_duration(&sample, expected, 1e-9);
                assert_eq!((sample.sample_rate(), sample.channels()), (rate, channels));
            }
            Err(VoiceSampleError::TooShort { .. }) => assert!(expected < 3.0),
            Err(other) => panic!("{rate} Hz {channels} ch {bits} bit {frames}: {other:?}"),
        }
    }
}

#[test]
fn measures_a_streamed_wav_whose_sizes_are_all_ones() {
    // ffmpeg writing WAV to a pipe sets the RIFF and data sizes to 0xFFFFFFFF.
    let mut wav = pcm_wav(16_000, 1, 16, 80_000);
    wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_duration(&probe(wav, &LIMITS).unwrap(), 5.0, 1e-9);
}
