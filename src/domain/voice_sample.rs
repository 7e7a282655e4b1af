//! Voice sample: the domain type for the audio a caller uploads to be cloned, and the rules it
//! must meet.
//!
//! Measuring audio is not the domain's business: an [`AudioProbe`](crate::ports::AudioProbe)
//! adapter reads the bytes with whatever codec library it likes and reports what it found. The
//! rules live here, so every probe applies them the same way:
//!
//! 1. size first ([`SampleLimits::check_size`]: `TooLarge`, `Empty`), before anything looks
//!    inside the bytes;
//! 2. the format comes from the audio itself, never from a file name or a content type, and
//!    bytes that are none of ours are `NotAudio`;
//! 3. audio that cannot be read or decoded is `Undecodable`, with a short reason;
//! 4. the minimum duration ([`VoiceSample::from_measurement`]: `TooShort`).
//!
//! The numbers in the refusals are rounded so that they never contradict the limit they quote:
//! a sample just too short never reads as the minimum, one just too large never as the maximum.

use bytes::Bytes;

/// Audio container/codec we accept, detected from the bytes (never from a file name or content
/// type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    /// RIFF/WAVE (PCM, IEEE float, A-law or µ-law samples).
    Wav,
    /// MPEG-1/2/2.5 audio layer III, optionally behind ID3v2 tags.
    Mp3,
    /// Vorbis in an Ogg container (Opus in Ogg is not accepted).
    OggVorbis,
    /// Native FLAC stream, optionally behind ID3v2 tags.
    Flac,
}

impl AudioFormat {
    /// The usual file extension, without the dot: `"wav"`, `"mp3"`, `"ogg"` or `"flac"`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
            Self::OggVorbis => "ogg",
            Self::Flac => "flac",
        }
    }

    /// The MIME type to send the audio under: `"audio/wav"`, `"audio/mpeg"`, `"audio/ogg"` or
    /// `"audio/flac"`.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::OggVorbis => "audio/ogg",
            Self::Flac => "audio/flac",
        }
    }
}

impl std::fmt::Display for AudioFormat {
    /// The human name: `WAV`, `MP3`, `OGG Vorbis` or `FLAC`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wav => "WAV",
            Self::Mp3 => "MP3",
            Self::OggVorbis => "OGG Vorbis",
            Self::Flac => "FLAC",
        })
    }
}

/// Limits from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleLimits {
    /// Shortest accepted duration, in seconds.
    pub min_duration_seconds: f64,
    /// Largest accepted size, in bytes.
    pub max_bytes: u64,
}

impl SampleLimits {
    /// The size rule, which a probe applies before it looks inside the bytes (so that an
    /// oversized upload costs no parsing) and [`VoiceSample::from_measurement`] applies again.
    ///
    /// # Errors
    /// [`VoiceSampleError::TooLarge`] when `len` is over `max_bytes`, its size rounded up to the
    /// 0.1 MB shown; else [`VoiceSampleError::Empty`] when `len` is 0.
    pub fn check_size(&self, len: usize) -> Result<(), VoiceSampleError> {
        let len = len as u64;
        if len > self.max_bytes {
            return Err(VoiceSampleError::TooLarge {
                // Rounded up to the 0.1 MB shown, so a sample just over the limit never reads
                // as equal to it ("10.1 MB (max 10.0 MB)", not "10.0 MB (max 10.0 MB)").
                size_mb: (len as f64 / 1e5).ceil() / 10.0,
                max_mb: self.max_bytes as f64 / 1e6,
            });
        }
        if len == 0 {
            return Err(VoiceSampleError::Empty);
        }
        Ok(())
    }
}

/// What an [`AudioProbe`](crate::ports::AudioProbe) measured in the audio itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// The format the bytes are in.
    pub format: AudioFormat,
    /// The duration in seconds, without the encoder delay and padding when the container
    /// declares them.
    pub duration_seconds: f64,
    /// The sample rate in Hz.
    pub sample_rate: u32,
    /// The number of channels.
    pub channels: u16,
}

/// A voice sample whose format and duration were measured from the audio itself.
///
/// Built only by [`VoiceSample::from_measurement`], which an
/// [`AudioProbe`](crate::ports::AudioProbe) calls with what it measured; holds the original
/// bytes, unchanged and uncopied.
#[derive(Clone)]
pub struct VoiceSample {
    bytes: Bytes,
    format: AudioFormat,
    duration_seconds: f64,
    sample_rate: u32,
    channels: u16,
}

impl std::fmt::Debug for VoiceSample {
    /// Shows the length, format and duration; never the audio bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceSample")
            .field("len", &self.bytes.len())
            .field("format", &self.format)
            .field("duration_seconds", &self.duration_seconds)
            .finish()
    }
}

impl VoiceSample {
    /// Applies the limits to `bytes` as measured: the size rule
    /// ([`SampleLimits::check_size`]), then the minimum duration. The bytes are kept as they
    /// are (no copy, no re-encoding).
    ///
    /// # Errors
    /// [`VoiceSampleError::TooLarge`] or [`VoiceSampleError::Empty`] as for
    /// [`SampleLimits::check_size`]; [`VoiceSampleError::Undecodable`] ("implausible duration")
    /// when the measured duration is negative or not finite; [`VoiceSampleError::TooShort`],
    /// its duration rounded down to the 0.1 s shown, when the audio is shorter than
    /// `min_duration_seconds`.
    pub fn from_measurement(
        bytes: Bytes,
        measured: Measurement,
        limits: &SampleLimits,
    ) -> Result<VoiceSample, VoiceSampleError> {
        limits.check_size(bytes.len())?;
        let duration_seconds = measured.duration_seconds;
        if !duration_seconds.is_finite() || duration_seconds < 0.0 {
            return Err(VoiceSampleError::Undecodable {
                format: measured.format,
                reason: "implausible duration".to_owned(),
            });
        }
        if duration_seconds < limits.min_duration_seconds {
            return Err(VoiceSampleError::TooShort {
                // Rounded down so that the message never shows e.g. "3.0 s (min 3.0 s)".
                duration: (duration_seconds * 10.0 + 1e-9).floor() / 10.0,
                min: limits.min_duration_seconds,
            });
        }
        Ok(VoiceSample {
            bytes,
            format: measured.format,
            duration_seconds,
            sample_rate: measured.sample_rate,
            channels: measured.channels,
        })
    }

    /// The audio bytes exactly as received.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Gives the audio bytes back, without copying them.
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The format detected from the bytes.
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The measured duration in seconds: finite, at least the configured minimum, and free of
    /// the encoder delay and padding when the container declares them.
    pub fn duration_seconds(&self) -> f64 {
        self.duration_seconds
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The number of channels.
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// The size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always `false` for a probed sample (empty ones are refused); here for completeness.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Why a sample was refused. `Display` is the sentence the API user sees.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VoiceSampleError {
    /// The upload has no bytes.
    #[error("Voice sample is empty")]
    Empty,
    /// The upload is larger than `SampleLimits::max_bytes` (MB = 10^6 bytes).
    #[error("Voice sample too large: {size_mb:.1} MB (max {max_mb:.1} MB)")]
    TooLarge {
        /// Size of the upload, in MB.
        size_mb: f64,
        /// The limit, in MB.
        max_mb: f64,
    },
    /// The audio is shorter than `SampleLimits::min_duration_seconds`.
    #[error("Voice sample too short: {duration:.1} s (min {min:.1} s)")]
    TooShort {
        /// Measured duration in seconds, rounded down to a tenth.
        duration: f64,
        /// The minimum, in seconds.
        min: f64,
    },
    /// The bytes are not WAV, MP3, OGG Vorbis or FLAC (includes OGG Opus and text).
    #[error("Voice sample is not audio in a supported format (WAV, MP3, OGG Vorbis, FLAC)")]
    NotAudio,
    /// The bytes look like `format` but could not be read or decoded.
    #[error("Voice sample could not be decoded as {format}: {reason}")]
    Undecodable {
        /// The format the magic numbers announced.
        format: AudioFormat,
        /// A short technical reason (never contains audio bytes).
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SampleLimits = SampleLimits {
        min_duration_seconds: 3.0,
        max_bytes: 10_000_000,
    };

    /// What a probe would report for `seconds` of 16 kHz mono WAV.
    fn wav_of(seconds: f64) -> Measurement {
        Measurement {
            format: AudioFormat::Wav,
            duration_seconds: seconds,
            sample_rate: 16_000,
            channels: 1,
        }
    }

    fn bytes(len: usize) -> Bytes {
        Bytes::from(vec![0u8; len])
    }

    #[test]
    fn names_each_format_for_files_mime_types_and_people() {
        let all = [
            AudioFormat::Wav,
            AudioFormat::Mp3,
            AudioFormat::OggVorbis,
            AudioFormat::Flac,
        ];
        let names: Vec<_> = all
            .iter()
            .map(|f| (f.extension(), f.mime_type(), f.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("wav", "audio/wav", "WAV".to_owned()),
                ("mp3", "audio/mpeg", "MP3".to_owned()),
                ("ogg", "audio/ogg", "OGG Vorbis".to_owned()),
                ("flac", "audio/flac", "FLAC".to_owned()),
            ]
        );
    }

    #[test]
    fn says_which_format_could_not_be_decoded_and_why() {
        let err = VoiceSampleError::Undecodable {
            format: AudioFormat::OggVorbis,
            reason: "end".into(),
        };
        assert_eq!(
            err.to_string(),
            "Voice sample could not be decoded as OGG Vorbis: end"
        );
    }

    #[test]
    fn keeps_what_was_measured_and_the_bytes_without_copying_them() {
        let audio = bytes(32_044);
        let sample = VoiceSample::from_measurement(
            audio.clone(),
            Measurement {
                format: AudioFormat::Flac,
                duration_seconds: 4.0,
                sample_rate: 44_100,
                channels: 2,
            },
            &LIMITS,
        )
        .unwrap();
        assert_eq!(sample.format(), AudioFormat::Flac);
        assert_eq!(sample.duration_seconds(), 4.0);
        assert_eq!((sample.sample_rate(), sample.channels()), (44_100, 2));
        assert_eq!((sample.len(), sample.is_empty()), (32_044, false));
        assert_eq!(sample.bytes().as_ptr(), audio.as_ptr());
        assert_eq!(sample.into_bytes(), audio);
    }

    #[test]
    fn debug_output_of_a_measured_sample_shows_no_bytes() {
        let sample = VoiceSample::from_measurement(bytes(32_044), wav_of(4.0), &LIMITS).unwrap();
        assert_eq!(
            format!("{sample:?}"),
            "VoiceSample { len: 32044, format: Wav, duration_seconds: 4.0 }"
        );
    }

    #[test]
    fn accepts_a_sample_exactly_at_the_minimum_duration_and_the_maximum_size() {
        let limits = SampleLimits {
            max_bytes: 1_000,
            ..LIMITS
        };
        assert!(VoiceSample::from_measurement(bytes(1_000), wav_of(3.0), &limits).is_ok());
    }

    #[test]
    fn rounds_a_too_short_duration_down_to_the_tenth_shown() {
        for (seconds, shown) in [
            (2.9875, 2.9),
            (2.99999, 2.9),
            (1.2, 1.2),
            (1.0, 1.0),
            (0.0, 0.0),
        ] {
            let err =
                VoiceSample::from_measurement(bytes(100), wav_of(seconds), &LIMITS).unwrap_err();
            assert_eq!(
                err,
                VoiceSampleError::TooShort {
                    duration: shown,
                    min: 3.0
                },
                "{seconds} s"
            );
        }
        let err = VoiceSample::from_measurement(bytes(100), wav_of(2.9875), &LIMITS).unwrap_err();
        assert_eq!(err.to_string(), "Voice sample too short: 2.9 s (min 3.0 s)");
    }

    #[test]
    fn rounds_a_too_large_size_up_to_the_tenth_shown() {
        let err = LIMITS.check_size(10_000_001).unwrap_err();
        assert_eq!(
            err,
            VoiceSampleError::TooLarge {
                size_mb: 10.1,
                max_mb: 10.0
            }
        );
        assert_eq!(
            err.to_string(),
            "Voice sample too large: 10.1 MB (max 10.0 MB)"
        );
        assert_eq!(
            LIMITS.check_size(10_500_000).unwrap_err().to_string(),
            "Voice sample too large: 10.5 MB (max 10.0 MB)"
        );
        assert_eq!(LIMITS.check_size(10_000_000), Ok(()));
    }

    #[test]
    fn applies_the_size_rule_before_the_duration_rule() {
        let limits = SampleLimits {
            max_bytes: 1_000,
            ..LIMITS
        };
        assert!(matches!(
            VoiceSample::from_measurement(bytes(1_001), wav_of(1.0), &limits),
            Err(VoiceSampleError::TooLarge { .. })
        ));
        let err = VoiceSample::from_measurement(Bytes::new(), wav_of(5.0), &limits).unwrap_err();
        assert_eq!(err, VoiceSampleError::Empty);
        assert_eq!(err.to_string(), "Voice sample is empty");
    }

    #[test]
    fn refuses_a_measured_duration_that_is_not_a_finite_positive_number() {
        for seconds in [f64::NAN, f64::INFINITY, -1.0] {
            let err =
                VoiceSample::from_measurement(bytes(100), wav_of(seconds), &LIMITS).unwrap_err();
            assert_eq!(
                err.to_string(),
                "Voice sample could not be decoded as WAV: implausible duration",
                "{seconds}"
            );
        }
    }
}
