//! Voice sample: the domain type for the audio a caller uploads to be cloned.
//!
//! A [`VoiceSample`] can only be obtained through [`VoiceSample::probe`], which checks the
//! upload against the configured [`SampleLimits`] and measures it from the audio itself:
//!
//! 1. size first (`TooLarge`, `Empty`), before any parsing;
//! 2. the format from magic numbers ([`AudioFormat::detect`]), never from a file name or a
//!    content type;
//! 3. a real decode of the first audio packet(s) with symphonia (`Undecodable`);
//! 4. the duration, from the container header where it has one, else by counting packets
//!    without decoding them;
//! 5. the minimum duration (`TooShort`).
//!
//! Input is hostile: probing never panics (symphonia is run under `catch_unwind`) and never
//! loops without bound. Pure code: no I/O beyond reading the in-memory buffer, no logging.

use std::io::Cursor;
use std::ops::RangeInclusive;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;

use super::audio_lengths::lengths_fit;
use symphonia::core::codecs::{
    CODEC_TYPE_NULL, CODEC_TYPE_PCM_ALAW, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64LE,
    CODEC_TYPE_PCM_MULAW, CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24LE, CODEC_TYPE_PCM_S32LE,
    CODEC_TYPE_PCM_U8, CODEC_TYPE_VORBIS, CodecParameters, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadBytes};
use symphonia::default::formats::{FlacReader, MpaReader, OggReader, WavReader};

// What symphonia 0.5.5 reports as `codec_params.n_frames`, checked against the fixtures in
// tests/fixtures/audio (FormatOptions::default(), i.e. gapless off):
// - WAV: data-chunk size / block_align, straight from the header. It is NOT checked against the
//   bytes really present: a truncated file (or a crafted one claiming 4 GB) keeps its claim. We
//   clamp it to the bytes after the data chunk start.
// - MP3: from the Xing/Info/VBRI frame when there is one (frames * 1152 or 576, encoder delay
//   and padding included and exposed as `delay`/`padding`). Without such a frame MpaReader still
//   fills n_frames with an ESTIMATE from the bitrate of the first 16 frames (exact for our CBR
//   fixture, wrong for VBR), so we count packets instead. A truncated file keeps the Xing claim.
// - OGG Vorbis: the last granule position, but only when the final page (EOS flag) is present;
//   a truncated OGG has n_frames = None. Includes the start delay when `delay` is Some.
// - FLAC: STREAMINFO total samples (None when the encoder wrote 0); a truncated file keeps it.
// So header claims of MP3 and FLAC are confirmed by seeking to the claimed last frame (a seek
// reads frame headers, it decodes nothing); when that fails we count packets. The OGG granule
// comes from the real last page, so it is taken as is (a crafted one is capped by
// MAX_DURATION_SECONDS).
//
// Panics seen in symphonia 0.5.5 (all caught): `unreachable!()` on a WAVE_FORMAT_EXTENSIBLE
// header with 0 bits per sample and `TimeBase` asserting on a sample rate of 0 (release builds
// too); ADPCM `block_align` underflow in the WAV fmt parser and an underflow in FlacReader::seek
// on damaged files (debug builds; release wraps).

/// Most packets read when counting the duration; past it the sample is refused.
const MAX_COUNTED_PACKETS: u64 = 1_000_000;
/// Most packets read while looking for one that decodes.
const MAX_DECODE_PACKETS: usize = 32;
/// Most decode errors tolerated before the first good packet.
const MAX_DECODE_ERRORS: usize = 4;
/// Sample rates we believe.
const SAMPLE_RATES: RangeInclusive<u32> = 1_000..=768_000;
/// Channel counts we believe.
const CHANNELS: RangeInclusive<usize> = 1..=32;
/// Longest duration we believe (a day).
const MAX_DURATION_SECONDS: f64 = 86_400.0;
/// Longest `Undecodable` reason kept.
const MAX_REASON_CHARS: usize = 120;
/// How many ID3v2 tags in a row we skip before an MP3 or FLAC stream.
const MAX_ID3_TAGS: usize = 4;

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

    /// Detects the format from magic numbers alone; `None` when the bytes are not one of ours.
    ///
    /// WAV needs `RIFF....WAVE`; OGG needs `OggS` with a Vorbis identification header as first
    /// packet; FLAC needs `fLaC`; MP3 needs a layer III frame header followed by a second,
    /// matching one exactly where the first frame ends. FLAC and MP3 may follow ID3v2 tags.
    /// This does not prove the audio decodes: [`VoiceSample::probe`] does.
    pub fn detect(bytes: &[u8]) -> Option<AudioFormat> {
        sniff(bytes).map(|sniffed| sniffed.format)
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

/// A voice sample whose format and duration were measured from the audio itself.
///
/// Built only by [`VoiceSample::probe`]; holds the original bytes, unchanged and uncopied.
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
    /// Checks `bytes` against `limits` and measures them; see the module documentation for the
    /// order of the checks. The bytes are kept as they are (no copy, no re-encoding).
    ///
    /// Never panics and always returns: a panic inside symphonia becomes `Undecodable` (the
    /// process panic hook still sees it, so it may be logged). This relies on `panic = "unwind"`.
    /// Cost: microseconds for WAV, MP3 and FLAC, about half a millisecond for OGG Vorbis (decoder
    /// setup), never proportional to the file size for WAV.
    pub fn probe(bytes: Bytes, limits: &SampleLimits) -> Result<VoiceSample, VoiceSampleError> {
        let len = bytes.len() as u64;
        if len > limits.max_bytes {
            return Err(VoiceSampleError::TooLarge {
                // Rounded up to the 0.1 MB shown, so a sample just over the limit never reads
                // as equal to it ("10.1 MB (max 10.0 MB)", not "10.0 MB (max 10.0 MB)").
                size_mb: (len as f64 / 1e5).ceil() / 10.0,
                max_mb: limits.max_bytes as f64 / 1e6,
            });
        }
        if len == 0 {
            return Err(VoiceSampleError::Empty);
        }
        let sniffed = sniff(&bytes).ok_or(VoiceSampleError::NotAudio)?;
        let audio = bytes.slice(sniffed.audio_start..);
        if !lengths_fit(sniffed.format, &audio) {
            return Err(VoiceSampleError::Undecodable {
                format: sniffed.format,
                reason: "malformed metadata (a length runs past the end of the data)".to_owned(),
            });
        }
        let measured = catch_unwind(AssertUnwindSafe(|| measure(&audio, &sniffed)))
            .unwrap_or_else(|_| Err("malformed data (the decoder crashed)".to_owned()))
            .map_err(|reason| VoiceSampleError::Undecodable {
                format: sniffed.format,
                reason,
            })?;
        if measured.duration_seconds < limits.min_duration_seconds {
            return Err(VoiceSampleError::TooShort {
                // Rounded down so that the message never shows e.g. "3.0 s (min 3.0 s)".
                duration: (measured.duration_seconds * 10.0 + 1e-9).floor() / 10.0,
                min: limits.min_duration_seconds,
            });
        }
        Ok(VoiceSample {
            bytes,
            format: sniffed.format,
            duration_seconds: measured.duration_seconds,
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

/// What the magic numbers told us.
#[derive(Debug, Clone, Copy)]
struct Sniffed {
    format: AudioFormat,
    /// Offset of the audio stream (after any ID3v2 tags).
    audio_start: usize,
    /// MP3 only: the first frame holds a Xing/Info/VBRI tag, so n_frames is not a guess.
    mp3_has_frame_count: bool,
}

/// What `measure` found.
struct Measured {
    duration_seconds: f64,
    sample_rate: u32,
    channels: u16,
}

fn sniff(bytes: &[u8]) -> Option<Sniffed> {
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
fn skip_id3v2(bytes: &[u8]) -> Option<usize> {
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

/// An MPEG audio layer III frame header.
struct MpegFrame {
    mpeg1: bool,
    mono: bool,
    sample_rate: u32,
    /// Whole frame length in bytes, header included.
    len: usize,
}

impl MpegFrame {
    fn parse(bytes: &[u8]) -> Option<MpegFrame> {
        const KBPS_V1: [u32; 16] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
        ];
        const KBPS_V2: [u32; 16] = [
            0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
        ];
        let word = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
        let version = (word >> 19) & 3; // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
        let layer = (word >> 17) & 3; // 1: layer III
        let bitrate = ((word >> 12) & 15) as usize; // 0: free format, 15: invalid
        let rate = ((word >> 10) & 3) as usize; // 3: reserved
        let emphasis = word & 3; // 2: reserved
        if word & 0xFFE0_0000 != 0xFFE0_0000
            || version == 1
            || layer != 1
            || bitrate == 0
            || bitrate == 15
            || rate == 3
            || emphasis == 2
        {
            return None;
        }
        let mpeg1 = version == 3;
        let base = [44_100, 48_000, 32_000][rate];
        let sample_rate = match version {
            3 => base,
            2 => base / 2,
            _ => base / 4,
        };
        let (kbps, factor) = if mpeg1 {
            (KBPS_V1[bitrate], 144_000)
        } else {
            (KBPS_V2[bitrate], 72_000)
        };
        let padding = (word >> 9) & 1;
        Some(MpegFrame {
            mpeg1,
            mono: (word >> 6) & 3 == 3,
            sample_rate,
            len: (factor * kbps / sample_rate + padding) as usize,
        })
    }

    /// Whether this (first) frame carries a Xing/Info or VBRI tag: same test as MpaReader.
    fn has_vbr_tag(&self, frame: &[u8]) -> bool {
        let side_info = match (self.mpeg1, self.mono) {
            (true, true) => 17,
            (true, false) => 32,
            (false, true) => 9,
            (false, false) => 17,
        };
        let xing = frame.get(4 + side_info..8 + side_info);
        matches!(xing, Some(b"Xing") | Some(b"Info")) || frame.get(36..40) == Some(b"VBRI")
    }
}

/// Reads, decodes and measures the audio. Errors are short, byte-free reasons.
fn measure(audio: &Bytes, sniffed: &Sniffed) -> Result<Measured, String> {
    let format = sniffed.format;
    let mut reader = open_reader(format, audio).map_err(reason)?;
    let track = reader
        .tracks()
        .iter()
        .find(|t| match format {
            AudioFormat::OggVorbis => t.codec_params.codec == CODEC_TYPE_VORBIS,
            _ => t.codec_params.codec != CODEC_TYPE_NULL,
        })
        .ok_or("no audio track")?;
    let (track_id, params) = (track.id, track.codec_params.clone());
    let sample_rate = params
        .sample_rate
        .filter(|rate| SAMPLE_RATES.contains(rate))
        .ok_or("missing or implausible sample rate")?;

    let decoded_channels = decode_first_packet(reader.as_mut(), track_id, &params)?;
    let channels = params.channels.map_or(decoded_channels, |c| c.count());
    let channels = u16::try_from(channels)
        .ok()
        .filter(|c| CHANNELS.contains(&usize::from(*c)))
        .ok_or("missing or implausible channel count")?;

    let claimed = match format {
        AudioFormat::Mp3 if !sniffed.mp3_has_frame_count => None,
        _ => params.n_frames.filter(|&n| n > 0),
    };
    let frames = match (format, claimed) {
        (AudioFormat::Wav, Some(n)) => n.min(wav_frames_present(audio, &params)?),
        (AudioFormat::Mp3 | AudioFormat::Flac, Some(n))
            if claimed_end_exists(reader.as_mut(), track_id, n) =>
        {
            n
        }
        (AudioFormat::OggVorbis, Some(n)) => n,
        _ => count_frames(
            open_reader(format, audio).map_err(reason)?.as_mut(),
            track_id,
        )?,
    };
    // Encoder delay and padding are counted in n_frames (gapless is off); they are not audio.
    let trim = u64::from(params.delay.unwrap_or(0)) + u64::from(params.padding.unwrap_or(0));
    let duration_seconds = frames.saturating_sub(trim) as f64 / f64::from(sample_rate);
    if !duration_seconds.is_finite() || duration_seconds > MAX_DURATION_SECONDS {
        return Err("implausible duration".to_owned());
    }
    Ok(Measured {
        duration_seconds,
        sample_rate,
        channels,
    })
}

fn open_reader(
    format: AudioFormat,
    audio: &Bytes,
) -> Result<Box<dyn FormatReader>, SymphoniaError> {
    // `Cursor<Bytes>` shares the buffer: no copy of the upload.
    let source = Box::new(Cursor::new(audio.clone()));
    let stream = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let options = FormatOptions::default();
    Ok(match format {
        AudioFormat::Wav => Box::new(WavReader::try_new(stream, &options)?),
        AudioFormat::Mp3 => Box::new(MpaReader::try_new(stream, &options)?),
        AudioFormat::OggVorbis => Box::new(OggReader::try_new(stream, &options)?),
        AudioFormat::Flac => Box::new(FlacReader::try_new(stream, &options)?),
    })
}

/// Decodes packets until one succeeds (tolerating a few `DecodeError`s, as symphonia's own
/// examples do) and returns its channel count. Reads at most `MAX_DECODE_PACKETS` packets.
fn decode_first_packet(
    reader: &mut dyn FormatReader,
    track_id: u32,
    params: &CodecParameters,
) -> Result<usize, String> {
    let mut decoder = symphonia::default::get_codecs()
        .make(params, &DecoderOptions::default())
        .map_err(reason)?;
    let mut errors = 0;
    for _ in 0..MAX_DECODE_PACKETS {
        let packet = match reader.next_packet() {
            Ok(packet) => packet,
            Err(SymphoniaError::IoError(_)) if errors == 0 => return Err("no audio data".into()),
            Err(err) => return Err(reason(err)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(decoded) => return Ok(decoded.spec().channels.count()),
            Err(err @ SymphoniaError::DecodeError(_)) if errors >= MAX_DECODE_ERRORS => {
                return Err(reason(err));
            }
            Err(SymphoniaError::DecodeError(_)) => errors += 1,
            Err(err) => return Err(reason(err)),
        }
    }
    Err("no decodable audio packet".to_owned())
}

/// WAV: the frames really present after the data chunk start. symphonia takes the data chunk
/// size on trust (truncated files, or `0xFFFFFFFF` written by streaming encoders).
fn wav_frames_present(audio: &Bytes, params: &CodecParameters) -> Result<u64, String> {
    let sample_bytes = match params.codec {
        c if c == CODEC_TYPE_PCM_U8 || c == CODEC_TYPE_PCM_ALAW || c == CODEC_TYPE_PCM_MULAW => 1,
        c if c == CODEC_TYPE_PCM_S16LE => 2,
        c if c == CODEC_TYPE_PCM_S24LE => 3,
        c if c == CODEC_TYPE_PCM_S32LE || c == CODEC_TYPE_PCM_F32LE => 4,
        c if c == CODEC_TYPE_PCM_F64LE => 8,
        _ => return Err("unsupported WAV sample encoding".to_owned()),
    };
    let channels = params.channels.map_or(0, |c| c.count()) as u64;
    let frame_bytes = (sample_bytes * channels).max(1);
    // A fresh reader is left at the first byte of the data chunk.
    let reader = WavReader::try_new(
        MediaSourceStream::new(Box::new(Cursor::new(audio.clone())), Default::default()),
        &FormatOptions::default(),
    )
    .map_err(reason)?;
    let data_start = Box::new(reader).into_inner().pos();
    Ok((audio.len() as u64).saturating_sub(data_start) / frame_bytes)
}

/// Whether the frame the header claims as last can be reached: seeks (reading frame headers,
/// decoding nothing) and reads the packet there. A panic counts as "no".
fn claimed_end_exists(reader: &mut dyn FormatReader, track_id: u32, n_frames: u64) -> bool {
    let last = n_frames - 1;
    catch_unwind(AssertUnwindSafe(|| {
        let to = SeekTo::TimeStamp { ts: last, track_id };
        reader.seek(SeekMode::Accurate, to).is_ok()
            && (0..MAX_DECODE_PACKETS).any(|_| match reader.next_packet() {
                Ok(p) => p.track_id() == track_id && p.ts.saturating_add(p.dur) > last,
                Err(_) => false,
            })
    }))
    .unwrap_or(false)
}

/// Sums the duration of the track's packets without decoding them, up to
/// `MAX_COUNTED_PACKETS`. Reading stops at the end of the data or at the first damaged spot.
fn count_frames(reader: &mut dyn FormatReader, track_id: u32) -> Result<u64, String> {
    let mut frames = 0u64;
    for _ in 0..MAX_COUNTED_PACKETS {
        match reader.next_packet() {
            Ok(packet) if packet.track_id() == track_id => {
                frames = frames.saturating_add(packet.dur);
            }
            Ok(_) => {}
            Err(_) => return Ok(frames),
        }
    }
    Err("too many packets".to_owned())
}

/// A short reason for `Undecodable`, from symphonia's error text (which never quotes data).
fn reason(err: SymphoniaError) -> String {
    let text = match err {
        SymphoniaError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of data (truncated file?)".to_owned()
        }
        other => other.to_string(),
    };
    text.chars().take(MAX_REASON_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    const LIMITS: SampleLimits = SampleLimits {
        min_duration_seconds: 3.0,
        max_bytes: 10_000_000,
    };
    const ANY_LENGTH: SampleLimits = SampleLimits {
        min_duration_seconds: 0.0,
        max_bytes: 10_000_000,
    };

    fn fixture(name: &str) -> Bytes {
        let path = format!("{}/tests/fixtures/audio/{name}", env!("CARGO_MANIFEST_DIR"));
        Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn probe(
        bytes: impl Into<Bytes>,
        limits: &SampleLimits,
    ) -> Result<VoiceSample, VoiceSampleError> {
        VoiceSample::probe(bytes.into(), limits)
    }

    fn assert_duration(sample: &VoiceSample, expected: f64, tolerance: f64) {
        let got = sample.duration_seconds();
        assert!(
            (got - expected).abs() <= tolerance,
            "{sample:?}: expected {expected} s ± {tolerance}"
        );
    }

    #[test]
    fn refuses_metadata_lengths_that_would_make_the_decoder_allocate_gigabytes() {
        // Found by the audio_probe fuzz target: each file is under 4 KB and declares a 4 GiB
        // comment, picture or INFO item that symphonia would allocate before reading it.
        for (name, format) in [
            ("flac_picture_media_type_len_4g.flac", AudioFormat::Flac),
            ("flac_vorbis_comment_len_4g.flac", AudioFormat::Flac),
            ("fuzzer_found_flac_comment_oom.flac", AudioFormat::Flac),
            ("ogg_vorbis_comment_len_4g.ogg", AudioFormat::OggVorbis),
            ("wav_info_item_len_4g.wav", AudioFormat::Wav),
        ] {
            let reason =
                undecodable_reason(probe(fixture(&format!("hostile/{name}")), &LIMITS), format);
            assert!(reason.starts_with("malformed metadata"), "{name}: {reason}");
        }
    }

    fn undecodable_reason(
        result: Result<VoiceSample, VoiceSampleError>,
        format: AudioFormat,
    ) -> String {
        match result {
            Err(VoiceSampleError::Undecodable { format: f, reason }) if f == format => reason,
            other => panic!("expected Undecodable {format}, got {other:?}"),
        }
    }

    /// A canonical PCM WAV: 44-byte header, then a quiet sawtooth.
    fn pcm_wav(sample_rate: u32, channels: u16, bits: u16, frames: u64) -> Vec<u8> {
        let block_align = channels * bits / 8;
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&sample_rate.to_le_bytes());
        fmt.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        let body: Vec<u8> = (0..frames * u64::from(block_align))
            .map(|i| (i % 251) as u8 / 8)
            .collect();
        riff_wave(&fmt, body.len() as u32, &body)
    }

    /// RIFF/WAVE with the given fmt chunk body, a data chunk whose size field is `data_len`, and
    /// `body` after it (which may be shorter or longer than `data_len`).
    fn riff_wave(fmt: &[u8], data_len: u32, body: &[u8]) -> Vec<u8> {
        let mut out = b"RIFF".to_vec();
        let riff_len = (4 + 8 + fmt.len() as u32 + 8).saturating_add(data_len);
        out.extend_from_slice(&riff_len.to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        out.extend_from_slice(fmt);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
        out.extend_from_slice(body);
        out
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
            assert_eq!(AudioFormat::detect(&fixture(name)), expected, "{name}");
        }
    }

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
        assert!(
            probe(vec![0u8; 1_000], &tiny_limit).is_err_and(|e| e == VoiceSampleError::NotAudio)
        );
    }

    #[test]
    fn refuses_an_empty_sample() {
        let err = probe(Bytes::new(), &LIMITS).unwrap_err();
        assert_eq!(err, VoiceSampleError::Empty);
        assert_eq!(err.to_string(), "Voice sample is empty");
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
    fn turns_a_symphonia_panic_on_a_crafted_wav_header_into_undecodable() {
        // WAVE_FORMAT_EXTENSIBLE, PCM sub-format, 0 bits per coded sample: symphonia 0.5.5 hits
        // `unreachable!()` in its fmt parser, in release builds too.
        let mut fmt = Vec::new();
        for v in [0xFFFEu16, 1] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        fmt.extend_from_slice(&16_000u32.to_le_bytes());
        fmt.extend_from_slice(&32_000u32.to_le_bytes());
        for v in [2u16, 0, 22, 0] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        fmt.extend_from_slice(&4u32.to_le_bytes());
        fmt.extend_from_slice(&[
            1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
        ]);
        let wav = riff_wave(&fmt, 0, &[]);
        let reason = undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
        assert_eq!(reason, "malformed data (the decoder crashed)");
    }

    #[test]
    fn turns_the_panic_on_a_crafted_44_byte_wav_with_sample_rate_zero_into_undecodable() {
        // symphonia 0.5.5 builds `TimeBase::new(1, 0)`, which asserts (release builds too).
        let mut wav = pcm_wav(16_000, 1, 16, 0);
        wav[24..28].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(wav.len(), 44);
        let reason = undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
        assert_eq!(reason, "malformed data (the decoder crashed)");
    }

    #[test]
    fn refuses_a_crafted_adpcm_wav_with_zero_block_align_without_panicking() {
        // IMA ADPCM, block_align 0: `block_align - 4 * channels` overflows in symphonia (a panic
        // in debug builds, a wrap in release); ADPCM is not enabled either way. 48 bytes.
        let mut fmt = Vec::new();
        for v in [0x11u16, 1] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        fmt.extend_from_slice(&8_000u32.to_le_bytes());
        fmt.extend_from_slice(&4_000u32.to_le_bytes());
        for v in [0u16, 4, 2, 1017] {
            fmt.extend_from_slice(&v.to_le_bytes());
        }
        let wav = riff_wave(&fmt, 0, &[]);
        assert_eq!(wav.len(), 48);
        undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
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
    fn measures_a_streamed_wav_whose_sizes_are_all_ones() {
        // ffmpeg writing WAV to a pipe sets the RIFF and data sizes to 0xFFFFFFFF.
        let mut wav = pcm_wav(16_000, 1, 16, 80_000);
        wav[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        wav[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_duration(&probe(wav, &LIMITS).unwrap(), 5.0, 1e-9);
    }

    #[test]
    fn refuses_wavs_with_a_zero_or_absurd_sample_rate_or_no_channels() {
        for (offset, value) in [(24, 0u32), (24, 1), (24, 50_000_000)] {
            let mut wav = pcm_wav(16_000, 1, 16, 80_000);
            wav[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
            undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
        }
        let mut wav = pcm_wav(16_000, 1, 16, 80_000);
        wav[22..24].copy_from_slice(&0u16.to_le_bytes());
        undecodable_reason(probe(wav, &LIMITS), AudioFormat::Wav);
    }

    #[test]
    fn detects_an_mp3_without_id3_tag_and_skips_id3_padding() {
        let mp3 = fixture("voice_5s_xing_id3.mp3");
        let audio_start = skip_id3v2(&mp3).unwrap();
        assert!(audio_start > 10);
        let untagged = mp3.slice(audio_start..);
        assert_eq!(AudioFormat::detect(&untagged), Some(AudioFormat::Mp3));
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
        assert_eq!(AudioFormat::detect(&bytes), None);
        bytes[417..421].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        assert_eq!(AudioFormat::detect(&bytes), Some(AudioFormat::Mp3));
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

    /// Prefixes that pass `detect`, to push arbitrary bytes into each reader.
    fn magic_prefixes() -> Vec<Vec<u8>> {
        let mut prefixes = vec![
            b"RIFF\xff\xff\xff\xffWAVE".to_vec(),
            riff_wave(&pcm_wav(16_000, 1, 16, 0)[20..36], u32::MAX, &[]),
            b"fLaC".to_vec(),
            b"ID3\x04\x00\x00\x00\x00\x00\x00fLaC".to_vec(),
        ];
        for name in [
            "voice_5s.wav",
            "voice_5s.ogg",
            "voice_5s.flac",
            "voice_5s_cbr_noxing.mp3",
        ] {
            for len in [12, 44, 58, 200, 500, 4_000] {
                prefixes.push(fixture(name)[..len].to_vec());
            }
        }
        prefixes.push(
            fixture("voice_5s_xing_id3.mp3")
                [..skip_id3v2(&fixture("voice_5s_xing_id3.mp3")).unwrap_or(0) + 300]
                .to_vec(),
        );
        prefixes
    }

    fn assert_sane(result: &Result<VoiceSample, VoiceSampleError>, started: Instant) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        if let Ok(sample) = result {
            let d = sample.duration_seconds();
            assert!(d.is_finite() && d >= 0.0, "{sample:?}");
        }
        if let Err(VoiceSampleError::Undecodable { reason, .. }) = result {
            assert!(reason.chars().count() <= MAX_REASON_CHARS);
        }
    }

    proptest! {

        #[test]
        fn never_panics_or_hangs_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4_096)) {
            let started = Instant::now();
            let result = probe(bytes, &ANY_LENGTH);
            assert_sane(&result, started);
        }

        #[test]
        fn never_panics_or_hangs_on_arbitrary_bytes_behind_each_magic_header(
            which in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..4_096),
        ) {
            let prefixes = magic_prefixes();
            let mut bytes = prefixes[which.index(prefixes.len())].clone();
            bytes.extend_from_slice(&tail);
            let started = Instant::now();
            let result = probe(bytes, &ANY_LENGTH);
            assert_sane(&result, started);
        }

        #[test]
        fn never_panics_or_hangs_on_damaged_fixtures(
            which in 0usize..6,
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
            cut in any::<prop::sample::Index>(),
            in_headers in any::<bool>(),
        ) {
            let name = ["voice_5s.wav", "voice_5s_xing_id3.mp3", "voice_5s_cbr_noxing.mp3",
                "voice_5s.ogg", "voice_5s.flac", "voice_1s.wav"][which];
            let mut bytes = fixture(name).to_vec();
            // Half the cases hit only the first 256 bytes, where the headers are.
            let span = if in_headers { bytes.len().min(256) } else { bytes.len() };
            for (at, value) in damage {
                let at = at.index(span);
                bytes[at] = value;
            }
            bytes.truncate(cut.index(bytes.len()) + 1);
            let started = Instant::now();
            let result = probe(bytes, &ANY_LENGTH);
            assert_sane(&result, started);
        }
    }
}
