//! `voice_sample.data` of a JSON webhook: a JSON string of base64, decoded straight from the
//! body. Senders may escape characters in it (PHP writes `\/` by default), so the string is
//! taken raw, quotes and escapes as sent, and unescaped only when it has to be.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::value::RawValue;

use super::payload::{PayloadError, detail};

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes `raw`, the JSON string of `voice_sample.data`, into the sample's bytes.
///
/// # Errors
/// [`PayloadError::Json`] when `raw` is not a string, [`PayloadError::Base64`] when it is not
/// base64 (with the offset of the first bad character, counted in unescaped characters).
pub(super) fn decode(raw: &RawValue) -> Result<Vec<u8>, PayloadError> {
    decode_in_chunks::<DECODE_CHUNK>(raw)
}

/// Unescaped characters decoded at a time when `voice_sample.data` holds escapes (a multiple
/// of 4, so that no base64 quad is split between two chunks).
const DECODE_CHUNK: usize = 8 * 1024;

/// Decodes a JSON string of base64 (`raw`, quotes and escapes as sent) into bytes, copying the
/// sample once: straight from the body when nothing is escaped, else through a buffer of
/// `CHUNK` unescaped characters at a time.
fn decode_in_chunks<const CHUNK: usize>(raw: &RawValue) -> Result<Vec<u8>, PayloadError> {
    let Some(text) = raw
        .get()
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
    else {
        return Err(PayloadError::Json(
            "voice_sample.data must be a string of base64".into(),
        ));
    };
    let base64_error = |e: base64::DecodeError| PayloadError::Base64(detail(e));
    // Senders do not escape base64 as a rule: decode straight away, and only when that fails
    // look for an escape (a scan of the whole string that valid data need not pay for). Without
    // one, the base64 crate decides: it accepts what the fast decoder is too strict for, and
    // names the error.
    if let Some(decoded) = decode_fast(text) {
        return Ok(decoded);
    }
    if !text.contains('\\') {
        return BASE64.decode(text).map_err(base64_error);
    }
    let mut decoded = Vec::with_capacity(unescaped_len(text) / 4 * 3 + 3);
    let mut chunk = [0u8; CHUNK];
    let mut filled = 0;
    // Unescaped characters decoded before this chunk, for error offsets.
    let mut before = 0;
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        let symbol = match byte {
            b'\\' => unescape(&mut bytes).ok_or_else(|| {
                PayloadError::Base64(format!(
                    "Invalid escaped character at offset {}",
                    before + filled
                ))
            })?,
            other => other,
        };
        if filled == CHUNK {
            // Padding ends the data: it may not close a chunk that more symbols follow.
            if chunk[CHUNK - 1] == b'=' {
                return Err(base64_error(base64::DecodeError::InvalidByte(
                    before + CHUNK - 1,
                    b'=',
                )));
            }
            decode_chunk(&chunk, before, &mut decoded).map_err(base64_error)?;
            before += CHUNK;
            filled = 0;
        }
        chunk[filled] = symbol;
        filled += 1;
    }
    decode_chunk(&chunk[..filled], before, &mut decoded).map_err(base64_error)?;
    Ok(decoded)
}

/// Decodes base64 `text` with a SIMD decoder, about three times faster than [`BASE64`]; `None`
/// when it refuses. It is stricter than [`BASE64`] (it refuses partial padding such as `QQ=`,
/// which [`BASE64`] accepts) and never accepts what [`BASE64`] refuses (a test holds the two to
/// that), so whatever it refuses goes to [`BASE64`] or to the escape path.
fn decode_fast(text: &str) -> Option<Vec<u8>> {
    let fast = if text.len().is_multiple_of(4) {
        base64_simd::STANDARD
    } else {
        base64_simd::STANDARD_NO_PAD
    };
    fast.decode_to_vec(text).ok()
}

/// How many characters the JSON string `text` stands for once unescaped.
fn unescaped_len(text: &str) -> usize {
    let mut len = 0;
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        if byte == b'\\' && bytes.next() == Some(b'u') {
            bytes.nth(3);
        }
        len += 1;
    }
    len
}

/// Decodes `chunk`, found `before` characters into the string, onto the end of `decoded`.
fn decode_chunk(
    chunk: &[u8],
    before: usize,
    decoded: &mut Vec<u8>,
) -> Result<(), base64::DecodeError> {
    use base64::DecodeError::{InvalidByte, InvalidLastSymbol, InvalidLength};
    BASE64.decode_vec(chunk, decoded).map_err(|e| match e {
        InvalidByte(at, byte) => InvalidByte(before + at, byte),
        InvalidLastSymbol(at, byte) => InvalidLastSymbol(before + at, byte),
        InvalidLength(len) => InvalidLength(before + len),
        other => other,
    })
}

/// The character a JSON escape stands for, the backslash already read; `None` for one that no
/// base64 character can be (`\u` beyond ASCII). `RawValue` has checked the escape is well formed.
fn unescape(bytes: &mut std::str::Bytes<'_>) -> Option<u8> {
    match bytes.next()? {
        b'u' => {
            let hex: Vec<u8> = bytes.take(4).collect();
            let code = u32::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?;
            u8::try_from(code).ok().filter(u8::is_ascii)
        }
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        // `\"`, `\\` and `\/` stand for themselves.
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `data` as a JSON string literal, for [`decode_in_chunks`].
    fn raw(literal: &str) -> Box<RawValue> {
        RawValue::from_string(literal.to_owned()).unwrap()
    }

    #[test]
    fn decodes_a_sample_with_every_escape_json_allows_for_its_characters() {
        let plain = BASE64.encode(b"any bytes at all \xff\xfe\xfd?>");
        let escaped: String = plain
            .chars()
            .enumerate()
            .map(|(i, c)| match (c, i % 3) {
                ('/', _) => "\\/".to_owned(),
                (c, 0) => format!("\\u{:04X}", c as u32),
                (c, _) => c.to_string(),
            })
            .collect();
        assert!(
            escaped.contains("\\/") && escaped.contains("\\u00"),
            "{escaped}"
        );
        for decoded in [
            decode_in_chunks::<4>(&raw(&format!("\"{escaped}\""))),
            decode_in_chunks::<8>(&raw(&format!("\"{escaped}\""))),
            decode_in_chunks::<DECODE_CHUNK>(&raw(&format!("\"{escaped}\""))),
        ] {
            assert_eq!(decoded.unwrap(), BASE64.decode(&plain).unwrap());
        }
    }

    #[test]
    fn refuses_escapes_no_base64_character_can_be() {
        let e = decode_in_chunks::<8>(&raw(r#""AAAA\u00e9AAA""#)).unwrap_err();
        assert!(matches!(e, PayloadError::Base64(_)), "{e:?}");
        let e = decode_in_chunks::<8>(&raw(r#""AA\nAA""#)).unwrap_err();
        assert!(matches!(e, PayloadError::Base64(_)), "{e:?}");
    }

    #[test]
    fn padding_cannot_end_a_chunk_that_more_data_follows() {
        // Decoded as a whole this is invalid; split after the padding it must stay invalid.
        let e = decode_in_chunks::<4>(&raw(r#""AA==\/w==""#)).unwrap_err();
        assert!(matches!(e, PayloadError::Base64(_)), "{e:?}");
        assert!(BASE64.decode("AA==/w==").is_err());
    }

    #[test]
    fn partial_padding_is_still_accepted_as_before() {
        // The SIMD decoder refuses these; the base64 crate's answer stands.
        let decode = |text: &str| decode_in_chunks::<DECODE_CHUNK>(&raw(&format!("\"{text}\"")));
        assert_eq!(decode("QQ=").unwrap(), b"A");
        assert_eq!(decode("QQ").unwrap(), b"A");
        assert_eq!(decode("QUI=").unwrap(), b"AB");
        assert!(decode("QR==").is_err(), "non-zero trailing bits");
        assert!(decode("QQ===").is_err());
    }

    proptest! {
        /// The fast decoder accepts nothing the base64 crate refuses, and what it accepts it
        /// decodes to the same bytes.
        #[test]
        fn the_fast_decoder_agrees_with_the_base64_crate(
            text in "[A-Za-z0-9+/=]{0,160}",
            junk in proptest::option::of((0usize..160, r"[\x00-\x7f]")),
        ) {
            let mut text = text;
            if let Some((at, c)) = junk {
                let at = at.min(text.len());
                text.insert_str(at, &c);
            }
            if let Some(fast) = decode_fast(&text) {
                prop_assert_eq!(Some(fast), BASE64.decode(&text).ok());
            }
        }

        /// Escaped or not, split into chunks or not: the same bytes, or an error in both cases.
        #[test]
        fn decoding_escaped_base64_in_chunks_is_decoding_it_unescaped(
            text in "[A-Za-z0-9+/=]{0,64}",
            escapes in proptest::collection::vec(0u8..3, 64),
        ) {
            let literal: String = text
                .chars()
                .zip(escapes.iter().cycle())
                .map(|(c, e)| match e {
                    1 if c == '/' => "\\/".to_owned(),
                    2 => format!("\\u{:04x}", c as u32),
                    _ => c.to_string(),
                })
                .collect();
            let literal = format!("\"{literal}\"");
            let expected = BASE64.decode(&text).ok();
            prop_assert_eq!(decode_in_chunks::<4>(&raw(&literal)).ok(), expected.clone());
            prop_assert_eq!(decode_in_chunks::<8>(&raw(&literal)).ok(), expected.clone());
            prop_assert_eq!(decode_in_chunks::<12>(&raw(&literal)).ok(), expected);
        }
    }
}
