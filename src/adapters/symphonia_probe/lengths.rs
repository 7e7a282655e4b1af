//! A guard against hostile metadata lengths in audio containers.
//!
//! symphonia 0.5.5 reads some 32-bit length prefixes and allocates that many bytes BEFORE it
//! reads them (`vec![0; len]` / `read_boxed_slice_exact(len)`; upstream pdeljanov/Symphonia#508):
//! - symphonia-metadata `vorbis.rs` `read_comment_no_framing` (FLAC VORBIS_COMMENT block, OGG
//!   Vorbis comment header, OGG Opus tags, FLAC-in-OGG comment packets);
//! - symphonia-metadata `flac.rs` `read_picture_block` (FLAC PICTURE block, FLAC-in-OGG);
//! - symphonia-format-riff `wave/chunks.rs` `InfoChunk::parse` (WAV `LIST`/`INFO` items).
//!
//! A 57-byte upload thus asked for 4 GiB (found by the `audio_probe` fuzz target). A failed
//! allocation is not a panic: the process aborts, and `catch_unwind` cannot help. So before
//! symphonia sees the bytes, [`lengths_fit`] walks those structures and checks that every such
//! length fits in the bytes that are really there. It reads headers only, is linear in the
//! input, and allocates nothing but the Ogg packets it reassembles (at most the input's size).

use std::collections::HashMap;

use crate::domain::AudioFormat;

/// `audio` is the stream symphonia is given: for MP3 and FLAC, after any ID3v2 tags.
pub(super) fn lengths_fit(format: AudioFormat, audio: &[u8]) -> bool {
    match format {
        AudioFormat::Wav => wav_fits(audio),
        AudioFormat::Flac => flac_fits(audio),
        AudioFormat::OggVorbis => ogg_fits(audio),
        AudioFormat::Mp3 => true, // MpaReader allocates per frame (bounded by the frame header)
    }
}

/// A little reader over a slice: `None` once the bytes run out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u32_le(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u32_be(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads a length prefix symphonia allocates from: `Err` when it runs past the data,
    /// `Ok(None)` when the prefix itself is cut (symphonia fails before allocating).
    fn alloc_len(&mut self, big_endian: bool) -> Result<Option<usize>, ()> {
        let len = if big_endian {
            self.u32_be()
        } else {
            self.u32_le()
        };
        match len {
            None => Ok(None),
            Some(len) if len as usize > self.0.len() => Err(()),
            Some(len) => {
                self.0 = &self.0[len as usize..];
                Ok(Some(len as usize))
            }
        }
    }
}

/// A Vorbis comment (after its packet signature, or a FLAC VORBIS_COMMENT block's body).
fn vorbis_comment_fits(data: &[u8]) -> bool {
    let mut r = Reader(data);
    // The vendor string is skipped, not allocated.
    let Some(vendor) = r.u32_le() else {
        return true;
    };
    if r.take(vendor as usize).is_none() {
        return true;
    }
    let Some(count) = r.u32_le() else { return true };
    for _ in 0..count {
        // Each round consumes at least 4 bytes, so this ends with the data.
        match r.alloc_len(false) {
            Ok(Some(_)) => {}
            Ok(None) => return true,
            Err(()) => return false,
        }
    }
    true
}

/// A FLAC PICTURE block's body: type, media type, description, 4 numbers, data.
fn flac_picture_fits(data: &[u8]) -> bool {
    let mut r = Reader(data);
    if r.take(4).is_none() {
        return true;
    }
    for field in 0..3 {
        match r.alloc_len(true) {
            Ok(Some(_)) => {}
            Ok(None) => return true,
            Err(()) => return false,
        }
        if field == 1 && r.take(16).is_none() {
            return true; // width, height, depth, colours
        }
    }
    true
}

/// FLAC (`fLaC` + metadata blocks): VORBIS_COMMENT (4) and PICTURE (6) blocks.
fn flac_fits(stream: &[u8]) -> bool {
    let mut pos = 4usize;
    while let Some(header) = stream.get(pos..pos + 4) {
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        let start = pos + 4;
        let block = &stream[start..stream.len().min(start + len)];
        let fits = match header[0] & 0x7F {
            4 => vorbis_comment_fits(block),
            6 => flac_picture_fits(block),
            _ => true,
        };
        if !fits {
            return false;
        }
        if header[0] & 0x80 != 0 {
            break;
        }
        pos = start + len;
    }
    true
}

/// The chunks of a RIFF/WAVE file as `WavReader` walks them (word-aligned, from after
/// `RIFF <len> WAVE`), as `(offset, id, length)`, up to and including `data`, where it stops.
fn wav_chunks(file: &[u8]) -> impl Iterator<Item = (usize, [u8; 4], usize)> + '_ {
    let mut next = Some(12usize);
    std::iter::from_fn(move || {
        let mut pos = next?;
        pos += pos & 1; // chunks are word-aligned
        let header = file.get(pos..pos + 8)?;
        let id = [header[0], header[1], header[2], header[3]];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        next = match &id {
            b"data" => None, // WavReader stops here
            _ => pos.checked_add(8 + len).filter(|&end| end < file.len()),
        };
        Some((pos, id, len))
    })
}

/// WAV: every item of a `LIST`/`INFO` chunk before the `data` chunk fits in the input.
fn wav_fits(file: &[u8]) -> bool {
    for (pos, id, len) in wav_chunks(file) {
        if &id == b"LIST" && file.get(pos + 8..pos + 12) == Some(b"INFO") {
            let end = file.len().min(pos + 8 + len);
            let mut item = pos + 12;
            while let Some(h) = file.get(item..item + 8) {
                if item + 8 > end {
                    break;
                }
                let item_len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
                if item_len > file.len() - (item + 8) {
                    return false;
                }
                item += 8 + item_len;
                item += (item - (pos + 12)) & 1;
            }
        }
    }
    true
}

/// WAV: where the audio starts (just after the `data` chunk header), when there is a `data`
/// chunk; everything before it is the header `WavReader` parses.
pub(super) fn wav_header_len(file: &[u8]) -> Option<usize> {
    wav_chunks(file)
        .find(|(_, id, _)| id == b"data")
        .map(|(pos, _, _)| pos + 8)
}

#[derive(Clone, Copy, PartialEq)]
enum Mapping {
    Vorbis,
    Opus,
    Flac,
    Other,
}

#[derive(Default)]
struct Stream {
    mapping: Option<Mapping>,
    last_sequence: Option<u32>,
    partial: Vec<u8>,
}

/// The packets symphonia's Ogg mappers parse as comments or pictures, reassembled the way
/// `LogicalStream::read_page` does (CRC-checked pages, continuation and sequence rules).
fn ogg_fits(file: &[u8]) -> bool {
    let mut streams: HashMap<u32, Stream> = HashMap::new();
    let mut pos = 0usize;
    while let Some(at) = memchr::memmem::find(&file[pos..], b"OggS") {
        let page_start = pos + at;
        let Some(page) = ogg_page(&file[page_start..]) else {
            pos = page_start + 1; // not a valid page: symphonia resyncs after the capture pattern
            continue;
        };
        pos = page_start + page.len;
        let stream = streams.entry(page.serial).or_default();
        if page.first {
            *stream = Stream::default();
            stream.mapping = Some(match page.packets.first() {
                Some(p) if p.starts_with(b"\x01vorbis") => Mapping::Vorbis,
                Some(p) if p.starts_with(b"OpusHead") => Mapping::Opus,
                Some(p) if p.starts_with(b"\x7fFLAC") => Mapping::Flac,
                _ => Mapping::Other,
            });
        }
        let Some(mapping) = stream.mapping else {
            continue;
        };
        if let Some(last) = stream.last_sequence
            && (page.sequence < last || page.sequence - last > 1)
        {
            stream.partial.clear();
        }
        stream.last_sequence = Some(page.sequence);
        if !page.continuation {
            stream.partial.clear();
        }
        let mut packets = page.packets.iter();
        if page.continuation && stream.partial.is_empty() && packets.next().is_none() {
            continue;
        }
        for packet in packets {
            let whole;
            let data: &[u8] = if stream.partial.is_empty() {
                packet
            } else {
                stream.partial.extend_from_slice(packet);
                whole = std::mem::take(&mut stream.partial);
                &whole
            };
            if !ogg_packet_fits(mapping, data) {
                return false;
            }
        }
        stream.partial.extend_from_slice(page.partial);
    }
    true
}

fn ogg_packet_fits(mapping: Mapping, packet: &[u8]) -> bool {
    match mapping {
        Mapping::Vorbis if packet.starts_with(b"\x03vorbis") => vorbis_comment_fits(&packet[7..]),
        Mapping::Opus if packet.starts_with(b"OpusTags") => vorbis_comment_fits(&packet[8..]),
        Mapping::Flac if packet.len() >= 4 && !matches!(packet[0], 0x00 | 0x80 | 0xFF) => {
            match packet[0] & 0x7F {
                4 => vorbis_comment_fits(&packet[4..]),
                6 => flac_picture_fits(&packet[4..]),
                _ => true,
            }
        }
        _ => true,
    }
}

struct OggPage<'a> {
    len: usize,
    serial: u32,
    sequence: u32,
    first: bool,
    continuation: bool,
    packets: Vec<&'a [u8]>,
    partial: &'a [u8],
}

/// A whole, CRC-valid page at the start of `bytes`.
fn ogg_page(bytes: &[u8]) -> Option<OggPage<'_>> {
    let header = bytes.get(..27)?;
    let flags = header[5];
    if header[4] != 0 || flags & 0xF8 != 0 {
        return None;
    }
    let segments = bytes.get(27..27 + usize::from(header[26]))?;
    let body_len: usize = segments.iter().map(|&s| usize::from(s)).sum();
    let len = 27 + segments.len() + body_len;
    let page = bytes.get(..len)?;
    let stored = u32::from_le_bytes([header[22], header[23], header[24], header[25]]);
    if ogg_crc(page) != stored {
        return None;
    }
    let mut body = &page[27 + segments.len()..];
    let (mut packets, mut packet_len) = (Vec::new(), 0usize);
    for &segment in segments {
        packet_len += usize::from(segment);
        if segment < 255 {
            let (packet, rest) = body.split_at(packet_len);
            packets.push(packet);
            body = rest;
            packet_len = 0;
        }
    }
    Some(OggPage {
        len,
        serial: u32::from_le_bytes([header[14], header[15], header[16], header[17]]),
        sequence: u32::from_le_bytes([header[18], header[19], header[20], header[21]]),
        first: flags & 0x02 != 0,
        continuation: flags & 0x01 != 0,
        packets,
        partial: body,
    })
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0) with the CRC field as zeros.
fn ogg_crc(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0u32, |crc, (i, &byte)| {
        let byte = if (22..26).contains(&i) { 0 } else { byte };
        (crc << 8) ^ OGG_CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)]
    })
}

/// The byte-at-a-time table for [`ogg_crc`], built at compile time.
const OGG_CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = (n as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};
