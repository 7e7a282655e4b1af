//! The [`AudioProbe`] on symphonia: measures an uploaded voice sample from the audio itself.
//!
//! In order, each step refusing with the matching [`VoiceSampleError`]:
//!
//! 1. size first ([`SampleLimits::check_size`]: `TooLarge`, `Empty`), before any parsing;
//! 2. the format from magic numbers ([`SymphoniaProbe::detect`], `sniff.rs`), never from a file
//!    name or a content type (`NotAudio`);
//! 3. metadata lengths that would make symphonia allocate gigabytes (`lengths.rs`,
//!    `Undecodable`);
//! 4. a real decode of the first audio packet(s) with symphonia (`measure.rs`, `Undecodable`) —
//!    except for a plain, complete integer-PCM WAV, whose 44-byte header already says all that
//!    symphonia would find, since no bit pattern fails to decode as integer PCM
//!    (`plain_wav.rs`, held to symphonia's measurement by a test);
//! 5. the duration, from the container header where it has one, else by counting packets
//!    without decoding them;
//! 6. the domain's rules on what was measured ([`VoiceSample::from_measurement`]: `TooShort`).
//!
//! Input is hostile: probing never panics (symphonia is run under `catch_unwind`) and never
//! loops without bound. No I/O beyond reading the in-memory buffer, no logging.

mod lengths;
mod measure;
mod mpeg;
mod plain_wav;
mod sniff;

#[cfg(test)]
mod tests;

use bytes::Bytes;

use crate::domain::{AudioFormat, SampleLimits, VoiceSample, VoiceSampleError};
use crate::ports::AudioProbe;
use lengths::{lengths_fit, wav_header_len};
use measure::measure;
use sniff::sniff;

/// Measures voice samples in WAV, MP3, OGG Vorbis and FLAC with symphonia.
///
/// Never panics and always returns: a panic inside symphonia becomes `Undecodable` (the
/// process panic hook still sees it, so it may be logged). This relies on `panic = "unwind"`.
/// Cost: well under a microsecond for a plain PCM WAV, microseconds for other WAVs, MP3 and
/// FLAC, about half a millisecond for OGG Vorbis (decoder setup), never proportional to the
/// file size for WAV. Synchronous CPU work: run it on a blocking pool, except for what
/// [`AudioProbe::measures_quickly`] lets through.
#[derive(Debug, Clone, Copy, Default)]
pub struct SymphoniaProbe;

impl SymphoniaProbe {
    /// Detects the format from magic numbers alone; `None` when the bytes are not one of ours.
    ///
    /// WAV needs `RIFF....WAVE`; OGG needs `OggS` with a Vorbis identification header as first
    /// packet; FLAC needs `fLaC`; MP3 needs a layer III frame header followed by a second,
    /// matching one exactly where the first frame ends. FLAC and MP3 may follow ID3v2 tags.
    /// This does not prove the audio decodes: [`AudioProbe::probe`] does.
    pub fn detect(bytes: &[u8]) -> Option<AudioFormat> {
        sniff(bytes).map(|sniffed| sniffed.format)
    }
}

/// The largest WAV header (everything before the audio of the `data` chunk) measured on the
/// caller's thread. A WAV is measured from its header, one decoded packet and the length of
/// what follows, so its cost is bounded by its header; symphonia walks the chunks of the
/// header twice, and 4 KB of them is a few microseconds even as 8-byte empty chunks.
const QUICK_WAV_HEADER_BYTES: usize = 4096;

impl AudioProbe for SymphoniaProbe {
    /// A WAV whose audio starts within its first [`QUICK_WAV_HEADER_BYTES`]: measuring it reads
    /// that header, decodes at most a few packets (`measure.rs` stops at the first that
    /// decodes) and takes the duration from the header and the length of the data. Everything
    /// else may cost more: MP3 and FLAC seek or count packets, OGG Vorbis sets up a decoder,
    /// and a long header is walked chunk by chunk.
    fn measures_quickly(&self, bytes: &[u8]) -> bool {
        sniff(bytes).is_some_and(|sniffed| sniffed.format == AudioFormat::Wav)
            && wav_header_len(bytes).is_some_and(|len| len <= QUICK_WAV_HEADER_BYTES)
    }

    fn probe(&self, bytes: Bytes, limits: &SampleLimits) -> Result<VoiceSample, VoiceSampleError> {
        limits.check_size(bytes.len())?;
        let sniffed = sniff(&bytes).ok_or(VoiceSampleError::NotAudio)?;
        let audio = bytes.slice(sniffed.audio_start..);
        if !lengths_fit(sniffed.format, &audio) {
            return Err(VoiceSampleError::Undecodable {
                format: sniffed.format,
                reason: "malformed metadata (a length runs past the end of the data)".to_owned(),
            });
        }
        let measured =
            measure(&audio, &sniffed).map_err(|reason| VoiceSampleError::Undecodable {
                format: sniffed.format,
                reason,
            })?;
        VoiceSample::from_measurement(bytes, measured, limits)
    }
}
