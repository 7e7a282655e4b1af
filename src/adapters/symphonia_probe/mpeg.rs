//! MPEG audio layer III frame headers: enough parsing to recognise an MP3 stream (two frames in
//! a row that agree) and to tell whether its first frame carries a Xing/Info/VBRI frame count.

/// An MPEG audio layer III frame header.
pub(super) struct MpegFrame {
    pub(super) mpeg1: bool,
    pub(super) mono: bool,
    pub(super) sample_rate: u32,
    /// Whole frame length in bytes, header included.
    pub(super) len: usize,
}

impl MpegFrame {
    pub(super) fn parse(bytes: &[u8]) -> Option<MpegFrame> {
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
    pub(super) fn has_vbr_tag(&self, frame: &[u8]) -> bool {
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
