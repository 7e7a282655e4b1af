//! The limits as the probe applies them: too short (rounded down), too large before any
//! parsing, empty.

use super::*;

#[test]
fn refuses_a_one_second_wav_as_too_short() {
    let err = probe(fixture("voice_1s.wav"), &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooShort {
            duration: 1.0,
            min: 3.0
        }
    );
    assert_eq!(err.to_string(), "Voice sample too short: 1.0 s (min 3.0 s)");
}

#[test]
fn reports_a_too_short_duration_with_one_decimal() {
    let err = probe(pcm_wav(16_000, 1, 16, 19_200), &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooShort {
            duration: 1.2,
            min: 3.0
        }
    );
    assert_eq!(err.to_string(), "Voice sample too short: 1.2 s (min 3.0 s)");
}

#[test]
fn rounds_a_too_short_duration_down_so_it_never_reads_as_the_minimum() {
    let err = probe(pcm_wav(16_000, 1, 16, 47_800), &LIMITS).unwrap_err(); // 2.9875 s
    assert_eq!(err.to_string(), "Voice sample too short: 2.9 s (min 3.0 s)");
}

#[test]
fn checks_the_size_limit_before_parsing_anything() {
    let junk = vec![0u8; 10_500_000];
    let err = probe(junk, &LIMITS).unwrap_err();
    assert_eq!(
        err,
        VoiceSampleError::TooLarge {
            size_mb: 10.5,
            max_mb: 10.0
        }
    );
    assert_eq!(
        err.to_string(),
        "Voice sample too large: 10.5 MB (max 10.0 MB)"
    );
    let tiny_limit = SampleLimits {
        max_bytes: 1_000,
        ..LIMITS
    };
    assert!(matches!(
        probe(fixture("voice_5s.wav"), &tiny_limit),
        Err(VoiceSampleError::TooLarge { .. })
    ));
    assert!(probe(vec![0u8; 1_000], &tiny_limit).is_err_and(|e| e == VoiceSampleError::NotAudio));
}

#[test]
fn refuses_an_empty_sample() {
    let err = probe(Bytes::new(), &LIMITS).unwrap_err();
    assert_eq!(err, VoiceSampleError::Empty);
    assert_eq!(err.to_string(), "Voice sample is empty");
}
