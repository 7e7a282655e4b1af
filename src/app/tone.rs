//! A synthetic voice sample: a 16-bit mono PCM WAV of a 220 Hz tone. `send --tone` uses it so
//! the service can be tried without an audio file; tests and benches use it as their sample.

/// A WAV of a 220 Hz tone, `seconds` long at `rate` Hz (16-bit PCM, mono).
pub fn wav(seconds: f64, rate: u32) -> Vec<u8> {
    let frames = (seconds.max(0.0) * f64::from(rate)).round() as u32;
    let data_len = frames * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes()); // byte rate
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let sample = (8_000.0 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}
