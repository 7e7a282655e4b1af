//! Reading, decoding and measuring the audio with symphonia: the first packet(s) really decoded,
//! the duration taken from the container header where it can be trusted, else counted packet by
//! packet, and plausibility checks on what symphonia reports. All of it runs under
//! `catch_unwind`, since symphonia panics on some crafted files.

use std::io::Cursor;
use std::ops::RangeInclusive;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::Bytes;
use symphonia::core::codecs::{
    CODEC_TYPE_NULL, CODEC_TYPE_PCM_ALAW, CODEC_TYPE_PCM_F32LE, CODEC_TYPE_PCM_F64LE,
    CODEC_TYPE_PCM_MULAW, CODEC_TYPE_PCM_S16LE, CODEC_TYPE_PCM_S24LE, CODEC_TYPE_PCM_S32LE,
    CODEC_TYPE_PCM_U8, CODEC_TYPE_VORBIS, CodecParameters, DecoderOptions,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::default::formats::{FlacReader, MpaReader, OggReader, WavReader};

use super::lengths::wav_header_len;
use super::plain_wav;
use super::sniff::Sniffed;
use crate::domain::{AudioFormat, Measurement};

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
pub(super) const SAMPLE_RATES: RangeInclusive<u32> = 1_000..=768_000;
/// Channel counts we believe.
const CHANNELS: RangeInclusive<usize> = 1..=32;
/// Longest duration we believe (a day).
pub(super) const MAX_DURATION_SECONDS: f64 = 86_400.0;
/// Longest `Undecodable` reason kept.
pub(super) const MAX_REASON_CHARS: usize = 120;

/// Measures `audio` (the stream after any ID3v2 tags) as `sniffed` says it is: a plain PCM
/// WAV from its header (`plain_wav.rs`, the same answer), everything else with symphonia.
/// Errors are short, byte-free reasons; a panic inside symphonia becomes "malformed data (the
/// decoder crashed)".
pub(super) fn measure(audio: &Bytes, sniffed: &Sniffed) -> Result<Measurement, String> {
    if sniffed.format == AudioFormat::Wav
        && let Some(measured) = plain_wav::measure(audio)
    {
        return Ok(measured);
    }
    measure_with_symphonia(audio, sniffed)
}

/// [`measure`] with symphonia whatever the layout.
pub(super) fn measure_with_symphonia(
    audio: &Bytes,
    sniffed: &Sniffed,
) -> Result<Measurement, String> {
    catch_unwind(AssertUnwindSafe(|| read_and_measure(audio, sniffed)))
        .unwrap_or_else(|_| Err("malformed data (the decoder crashed)".to_owned()))
}

/// Reads, decodes and measures the audio. Errors are short, byte-free reasons.
fn read_and_measure(audio: &Bytes, sniffed: &Sniffed) -> Result<Measurement, String> {
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
    Ok(Measurement {
        format,
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
    // Where the reader found the data chunk: the same walk over the chunk headers as
    // `WavReader`'s, without a second reader (and the 64 KB buffer symphonia zeroes for each).
    let data_start = wav_header_len(audio).ok_or("no WAV data chunk")? as u64;
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
