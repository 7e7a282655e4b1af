//! Truncated and damaged files: measured from the bytes really present, not from the header's
//! claim, or refused as undecodable.

use super::*;

#[test]
fn measures_a_truncated_wav_from_the_bytes_present_not_its_header() {
    // Header says 5 s, half the body is there.
    let err = probe(fixture("truncated_half.wav"), &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooShort {
            duration: 2.5,
            min: 3.0
        }
    );
}

#[test]
fn measures_a_truncated_mp3_by_counting_frames_when_the_xing_claim_is_false() {
    // The Xing tag still claims 5 s; seeking to that end fails, so the frames are counted.
    let err = probe(fixture("truncated_half.mp3"), &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooShort {
            duration: 2.3,
            min: 3.0
        }
    );
    let sample = probe(fixture("truncated_half.mp3"), &ANY_LENGTH).unwrap();
    assert_duration(&sample, (68.0 * 576.0 - 1105.0 - 111.0) / 16_000.0, 1e-9);
}

#[test]
fn measures_a_truncated_flac_by_counting_frames_when_streaminfo_is_false() {
    let sample = probe(fixture("truncated_half.flac"), &ANY_LENGTH).unwrap();
    assert_duration(&sample, 7.0 * 4096.0 / 16_000.0, 1e-9);
    assert!(matches!(
        probe(fixture("truncated_half.flac"), &LIMITS),
        Err(VoiceSampleError::TooShort { .. })
    ));
}

#[test]
fn measures_a_truncated_ogg_without_final_page_by_counting_packets() {
    let sample = probe(fixture("truncated_2of3.ogg"), &ANY_LENGTH).unwrap();
    assert_eq!(sample.sample_rate(), 44_100);
    assert_duration(&sample, 77_376.0 / 44_100.0, 1e-9);
    assert!(matches!(
        probe(fixture("truncated_2of3.ogg"), &LIMITS),
        Err(VoiceSampleError::TooShort { .. })
    ));
}

#[test]
fn refuses_an_ogg_cut_inside_its_headers_as_undecodable() {
    let reason = undecodable_reason(
        probe(fixture("truncated_300b.ogg"), &LIMITS),
        AudioFormat::OggVorbis,
    );
    assert_eq!(reason, "unexpected end of data (truncated file?)");
}

#[test]
fn refuses_an_mp3_cut_to_a_few_hundred_bytes_as_too_short() {
    let cut = fixture("voice_5s_cbr_noxing.mp3").slice(..400);
    assert!(matches!(
        probe(cut, &LIMITS),
        Err(VoiceSampleError::TooShort { .. })
    ));
}

#[test]
fn measures_a_wav_claiming_a_huge_data_chunk_from_its_real_body() {
    let mut lying = pcm_wav(16_000, 1, 16, 8_000); // 0.5 s of audio
    lying[4..8].copy_from_slice(&(36 + 0x7FFF_0000u32).to_le_bytes());
    lying[40..44].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
    let err = probe(lying.clone(), &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooShort {
            duration: 0.5,
            min: 3.0
        }
    );
    // symphonia itself refuses a data chunk larger than the RIFF chunk around it.
    lying[4..8].copy_from_slice(&36u32.to_le_bytes());
    undecodable_reason(probe(lying, &LIMITS), AudioFormat::Wav);
}

#[test]
fn refuses_damaged_audio_after_a_good_header_as_undecodable() {
    let mut flac = fixture("voice_5s.flac").to_vec();
    let header_end = 8_300.min(flac.len());
    flac[42..header_end].fill(0);
    let result = probe(flac, &LIMITS);
    assert!(
        matches!(
            result,
            Err(VoiceSampleError::Undecodable {
                format: AudioFormat::Flac,
                ..
            })
        ),
        "{result:?}"
    );
}
