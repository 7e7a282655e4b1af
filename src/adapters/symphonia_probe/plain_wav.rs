//! The WAV layout nearly every encoder writes, measured from its 44-byte header alone: `RIFF`,
//! `WAVE`, a 16-byte `fmt ` chunk of integer PCM, then a `data` chunk holding exactly whole
//! frames, all of them present.
//!
//! For that layout symphonia's answer is fixed by the same header fields: `WavReader` reads
//! them as below, the frame count is the data size over the block size, and decoding integer
//! PCM only reinterprets bytes as samples, which no bit pattern can fail. So the measurement is
//! the same without symphonia's 64 KB zeroed read buffer, decoder set-up and decoded packet —
//! 5–7 µs of every webhook that brings a WAV (README, "At the floor"). Anything else (another
//! layout or codec, extra chunks, a truncated, padded or streamed file, an implausible field)
//! is left to symphonia: [`measure`] answers `None`. A unit test holds the two to the same
//! measurement over the layouts this accepts, and to `None` on the near misses.

use super::measure::{MAX_DURATION_SECONDS, SAMPLE_RATES};
use crate::domain::{AudioFormat, Measurement};

/// Size of the header of the layout: RIFF header, `fmt ` chunk, `data` chunk header.
const HEADER_BYTES: usize = 44;
/// `WAVE_FORMAT_PCM`: integer samples.
const FORMAT_PCM: u16 = 1;
/// Channel counts taken here; symphonia takes more, and gets them.
const CHANNELS: std::ops::RangeInclusive<u16> = 1..=8;

/// The measurement of `audio` when it is a plain, complete integer-PCM WAV; `None` otherwise.
pub(super) fn measure(audio: &[u8]) -> Option<Measurement> {
    let header = audio.get(..HEADER_BYTES)?;
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let u32_at = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let layout = &header[..4] == b"RIFF"
        && &header[8..16] == b"WAVEfmt "
        && u32_at(16) == 16
        && &header[36..40] == b"data";
    let (format, channels, sample_rate) = (u16_at(20), u16_at(22), u32_at(24));
    let (block_align, bits) = (u16_at(32), u16_at(34));
    let (riff_len, data_len) = (u64::from(u32_at(4)), u64::from(u32_at(40)));
    let frame_bytes = u64::from(channels) * u64::from(bits / 8);
    let plain = layout
        && format == FORMAT_PCM
        && CHANNELS.contains(&channels)
        && matches!(bits, 8 | 16 | 24 | 32)
        && u64::from(block_align) == frame_bytes
        && SAMPLE_RATES.contains(&sample_rate)
        // symphonia's chunk reader needs the RIFF size to cover the data chunk.
        && riff_len >= 36 + data_len
        && data_len >= frame_bytes
        && data_len % frame_bytes == 0
        && (audio.len() - HEADER_BYTES) as u64 >= data_len;
    if !plain {
        return None;
    }
    let duration_seconds = (data_len / frame_bytes) as f64 / f64::from(sample_rate);
    (duration_seconds <= MAX_DURATION_SECONDS).then_some(Measurement {
        format: AudioFormat::Wav,
        duration_seconds,
        sample_rate,
        channels,
    })
}
