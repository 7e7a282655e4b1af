//! The plain-WAV shortcut against symphonia: the same measurement on every layout it takes,
//! and no answer (so symphonia decides) on the near misses.

use bytes::Bytes;

use super::super::measure::measure_with_symphonia;
use super::super::plain_wav;
use super::super::sniff::sniff;
use super::{pcm_wav, riff_wave};

/// What symphonia alone measures for `wav`.
fn by_symphonia(wav: &[u8]) -> Result<crate::domain::Measurement, String> {
    let sniffed = sniff(wav).expect("a RIFF/WAVE file");
    measure_with_symphonia(&Bytes::copy_from_slice(wav), &sniffed)
}

#[test]
fn measures_what_symphonia_measures_on_every_plain_layout() {
    let mut checked = 0;
    for rate in [
        1_000, 8_000, 16_000, 22_050, 44_100, 48_000, 96_000, 768_000,
    ] {
        for channels in 1..=8 {
            for bits in [8, 16, 24, 32] {
                for frames in [1, 2, 1_151, 1_152, 4_097, 20_000] {
                    let wav = pcm_wav(rate, channels, bits, frames);
                    let mut trailing = wav.clone();
                    trailing.extend_from_slice(b"LIST\x04\x00\x00\x00INFO junk");
                    let mut long_riff = wav.clone();
                    long_riff[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
                    for variant in [wav, trailing, long_riff] {
                        let expected = by_symphonia(&variant)
                            .unwrap_or_else(|e| panic!("{rate} {channels} {bits} {frames}: {e}"));
                        assert_eq!(
                            plain_wav::measure(&variant),
                            Some(expected),
                            "{rate} Hz, {channels} ch, {bits} bit, {frames} frames"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 8 * 8 * 4 * 6 * 3);
}

/// A 16 kHz mono 16-bit WAV of a second, changed by `edit`.
fn edited(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut wav = pcm_wav(16_000, 1, 16, 16_000);
    edit(&mut wav);
    wav
}

fn set_u16(wav: &mut [u8], at: usize, value: u16) {
    wav[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn set_u32(wav: &mut [u8], at: usize, value: u32) {
    wav[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn leaves_every_other_layout_to_symphonia() {
    let fmt18 = {
        let mut fmt = pcm_wav(16_000, 1, 16, 1)[20..36].to_vec();
        fmt.extend_from_slice(&[0, 0]);
        riff_wave(&fmt, 32_000, &vec![0; 32_000])
    };
    let near_misses: Vec<(&str, Vec<u8>)> = vec![
        ("18-byte fmt chunk", fmt18),
        ("IEEE float", edited(|w| set_u16(w, 20, 3))),
        ("WAVE_FORMAT_EXTENSIBLE", edited(|w| set_u16(w, 20, 0xfffe))),
        ("A-law", edited(|w| set_u16(w, 20, 6))),
        ("no channels", edited(|w| set_u16(w, 22, 0))),
        ("nine channels", edited(|w| set_u16(w, 22, 9))),
        ("12-bit samples", edited(|w| set_u16(w, 34, 12))),
        (
            "block size not channels × sample size",
            edited(|w| set_u16(w, 32, 4)),
        ),
        ("sample rate below 1 kHz", edited(|w| set_u32(w, 24, 999))),
        ("sample rate 0", edited(|w| set_u32(w, 24, 0))),
        (
            "RIFF size short of the data",
            edited(|w| set_u32(w, 4, 100)),
        ),
        (
            "streamed sizes",
            edited(|w| {
                set_u32(w, 4, u32::MAX);
                set_u32(w, 40, u32::MAX);
            }),
        ),
        ("data size 0", edited(|w| set_u32(w, 40, 0))),
        (
            "data size not whole frames",
            edited(|w| set_u32(w, 40, 31_999)),
        ),
        ("truncated data", edited(|w| w.truncate(w.len() - 2))),
        ("header only", edited(|w| w.truncate(44))),
        ("shorter than a header", edited(|w| w.truncate(43))),
        ("a LIST chunk before the data", {
            let plain = pcm_wav(16_000, 1, 16, 16_000);
            let mut wav = plain[..36].to_vec();
            wav.extend_from_slice(b"LIST\x04\x00\x00\x00INFO");
            wav.extend_from_slice(&plain[36..]);
            let riff_len = (wav.len() - 8) as u32;
            set_u32(&mut wav, 4, riff_len);
            wav
        }),
        ("not RIFF", edited(|w| w[..4].copy_from_slice(b"RIFX"))),
    ];
    for (case, wav) in near_misses {
        assert_eq!(plain_wav::measure(&wav), None, "{case}");
    }
}
