//! Format detection from magic numbers, before any decoder sees the bytes: RIFF/WAVE, Ogg with
//! a Vorbis identification header, FLAC and MP3 (two matching frame headers in a row), the last
//! two possibly behind ID3v2 tags, which are skipped here.

use super::mpeg::MpegFrame;
use crate::domain::AudioFormat;

/// How many ID3v2 tags in a row we skip before an MP3 or FLAC stream.
const MAX_ID3_TAGS: usize = 4;

/// What the magic numbers told us.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sniffed {
    /// The format the magic numbers announce.
    pub(super) format: AudioFormat,
    /// Offset of the audio stream (after any ID3v2 tags).
    pub(super) audio_start: usize,
    /// MP3 only: the first frame holds a Xing/Info/VBRI tag, so n_frames is not a guess.
    pub(super) mp3_has_frame_count: bool,
}

/// What the magic numbers say `bytes` are; `None` when they are not one of our formats.
pub(super) fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    let at = |format, audio_start| Sniffed {
        format,
        audio_start,
        mp3_has_frame_count: false,
    };
    if bytes.get(..4) == Some(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        return Some(at(AudioFormat::Wav, 0));
    }
    if bytes.get(..4) == Some(b"OggS") {
        return is_ogg_vorbis(bytes).then(|| at(AudioFormat::OggVorbis, 0));
    }
    let start = skip_id3v2(bytes)?;
    let rest = bytes.get(start..)?;
    if rest.get(..4) == Some(b"fLaC") {
        return Some(at(AudioFormat::Flac, start));
    }
    let first = MpegFrame::parse(rest)?;
    let second = MpegFrame::parse(rest.get(first.len..)?)?;
    if (second.mpeg1, second.sample_rate, second.mono)
        != (first.mpeg1, first.sample_rate, first.mono)
    {
        return None;
    }
    Some(Sniffed {
        mp3_has_frame_count: first.has_vbr_tag(rest),
        ..at(AudioFormat::Mp3, start)
    })
}

/// First page of an Ogg stream (`OggS`, version 0, beginning-of-stream) whose first packet is a
/// Vorbis identification header.
fn is_ogg_vorbis(bytes: &[u8]) -> bool {
    let (Some(&0), Some(&header_type), Some(&segments)) =
        (bytes.get(4), bytes.get(5), bytes.get(26))
    else {
        return false;
    };
    let packet = 27 + usize::from(segments);
    header_type & 0x02 != 0 && bytes.get(packet..packet + 7) == Some(b"\x01vorbis")
}

/// Offset after any ID3v2 tags (and zero padding); `Some(0)` without a tag, `None` when a tag
/// is malformed or runs past the end.
pub(super) fn skip_id3v2(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0usize;
    for _ in 0..MAX_ID3_TAGS {
        let Some(header) = bytes.get(pos..pos + 10) else {
            break;
        };
        if &header[..3] != b"ID3" {
            break;
        }
        if header[3] == 0xFF || header[4] == 0xFF || header[6..].iter().any(|b| b & 0x80 != 0) {
            return None;
        }
        let size = header[6..]
            .iter()
            .fold(0usize, |acc, &b| (acc << 7) | usize::from(b));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        pos = pos.checked_add(10 + size + footer)?;
        if pos > bytes.len() {
            return None;
        }
    }
    let padding = bytes[pos..].iter().take_while(|&&b| b == 0).count();
    Some(pos + padding)
}
