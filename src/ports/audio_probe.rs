//! Port: measuring the audio of an uploaded voice sample.
//!
//! Reading audio takes codec libraries the domain must not depend on; behind this trait the use
//! case gets a [`VoiceSample`] without knowing which library measured it.

use bytes::Bytes;

use crate::domain::{SampleLimits, VoiceSample, VoiceSampleError};

/// Measures a voice sample from the audio itself: format, duration, sample rate and channels.
///
/// Synchronous on purpose: it is bounded CPU work, which the application runs on the blocking
/// pool, not I/O — unless [`AudioProbe::measures_quickly`] says the sample takes less than the
/// hand-over would. Implementations must never panic on hostile input.
pub trait AudioProbe: Send + Sync + 'static {
    /// Whether measuring `bytes` is bounded to a few tens of microseconds whatever else they
    /// hold, so that the caller may measure them where it stands instead of handing them to a
    /// blocking pool (which costs about as much again: two thread wake-ups). Must itself be
    /// cheap, and is no verdict on the bytes. The default, `false`, is always safe.
    fn measures_quickly(&self, _bytes: &[u8]) -> bool {
        false
    }

    /// Checks `bytes` against `limits` and measures them, keeping the bytes as they are (no
    /// copy, no re-encoding). Implementations apply [`SampleLimits::check_size`] before they
    /// look inside the bytes, and build the sample with [`VoiceSample::from_measurement`], so
    /// that the limits and their messages are the domain's.
    ///
    /// # Errors
    /// - [`VoiceSampleError::TooLarge`] or [`VoiceSampleError::Empty`] from the size rule,
    ///   before any parsing;
    /// - [`VoiceSampleError::NotAudio`] when the bytes are not WAV, MP3, OGG Vorbis or FLAC;
    /// - [`VoiceSampleError::Undecodable`] when they look like one of those but cannot be read
    ///   or decoded, or claim an implausible duration (the reason is short and holds no audio
    ///   bytes);
    /// - [`VoiceSampleError::TooShort`] when the measured duration is under the minimum.
    fn probe(&self, bytes: Bytes, limits: &SampleLimits) -> Result<VoiceSample, VoiceSampleError>;
}
