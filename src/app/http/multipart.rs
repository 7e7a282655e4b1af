//! A strict, zero-copy `multipart/form-data` reader for a body that is already in memory (it had
//! to be, for the signature). Parts are slices of the body: a voice sample is never copied.
//!
//! What it accepts (RFC 7578 / RFC 2046): an optional preamble, `--boundary` lines ending in
//! CRLF (transport padding allowed), part headers up to a blank line, and a closing
//! `--boundary--`. Everything it does not understand is refused with a reason, never guessed.

use bytes::Bytes;
use memchr::memmem;

/// Most parts a body may have (ours needs two).
const MAX_PARTS: usize = 8;
/// Largest header block of one part.
const MAX_PART_HEADER_BYTES: usize = 8 * 1024;
/// Longest boundary RFC 2046 allows.
const MAX_BOUNDARY_LEN: usize = 70;

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The `name` of its `Content-Disposition`.
    pub name: String,
    /// The `filename`, for file parts.
    pub filename: Option<String>,
    /// Its content: a slice of the body.
    pub body: Bytes,
}

/// Why a body is not a form we can read. `Display` is the sentence for the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// No usable `boundary` parameter on the content type.
    #[error("the content type has no valid boundary parameter")]
    Boundary,
    /// The body does not start a part with the boundary.
    #[error("the body does not contain the boundary")]
    NoParts,
    /// A part is not closed by a boundary, or the closing `--boundary--` is missing.
    #[error("the body ends before its closing boundary")]
    Unterminated,
    /// A boundary line is followed by something other than CRLF.
    #[error("a boundary line is malformed")]
    BoundaryLine,
    /// A part's headers are too large, not text, or not `Name: value` lines.
    #[error("a part's headers are malformed or too large")]
    Headers,
    /// A part has no `Content-Disposition: form-data; name=…`.
    #[error("a part has no form-data name")]
    NoName,
    /// More parts than any valid webhook has.
    #[error("more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// The boundary from a `multipart/form-data; boundary=…` content type.
///
/// # Errors
/// [`MultipartError::Boundary`] when it is missing, empty, too long or has forbidden bytes.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let value = content_type
        .split(';')
        .skip(1)
        .filter_map(|param| param.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim())
        .ok_or(MultipartError::Boundary)?;
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let valid = !value.is_empty()
        && value.len() <= MAX_BOUNDARY_LEN
        && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !value.ends_with(' ');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(MultipartError::Boundary)
    }
}

/// Splits `body` into its parts.
///
/// # Errors
/// A [`MultipartError`] saying what is wrong.
pub fn parts(body: &Bytes, boundary: &str) -> Result<Vec<Part>, MultipartError> {
    let dash_boundary = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let next_delimiter = memmem::Finder::new(delimiter.as_bytes());

    // The first boundary opens the body, or follows a preamble after a CRLF.
    let mut pos = if body.starts_with(dash_boundary.as_bytes()) {
        dash_boundary.len()
    } else {
        next_delimiter
            .find(body)
            .map(|at| at + delimiter.len())
            .ok_or(MultipartError::NoParts)?
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts); // closing delimiter; an epilogue after it is ignored
        }
        pos += skip_line_end(rest)?;
        if parts.len() == MAX_PARTS {
            return Err(MultipartError::TooManyParts);
        }
        let (headers, header_len) = header_block(&body[pos..])?;
        let content_start = pos + header_len;
        let content_end = next_delimiter
            .find(&body[content_start..])
            .map(|at| content_start + at)
            .ok_or(MultipartError::Unterminated)?;
        let (name, filename) = disposition(headers)?;
        parts.push(Part {
            name,
            filename,
            body: body.slice(content_start..content_end),
        });
        pos = content_end + delimiter.len();
    }
}

/// After a boundary: optional spaces or tabs, then CRLF. Returns the bytes to skip.
fn skip_line_end(rest: &[u8]) -> Result<usize, MultipartError> {
    let padding = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    if rest[padding..].starts_with(b"\r\n") {
        Ok(padding + 2)
    } else if rest.len() == padding {
        Err(MultipartError::Unterminated)
    } else {
        Err(MultipartError::BoundaryLine)
    }
}

/// A part's header block (without the blank line) and its length including the blank line.
fn header_block(rest: &[u8]) -> Result<(&str, usize), MultipartError> {
    if rest.starts_with(b"\r\n") {
        return Ok(("", 2));
    }
    let window = &rest[..rest.len().min(MAX_PART_HEADER_BYTES + 4)];
    let end = memmem::find(window, b"\r\n\r\n").ok_or(if rest.len() <= MAX_PART_HEADER_BYTES {
        MultipartError::Unterminated
    } else {
        MultipartError::Headers
    })?;
    let text = std::str::from_utf8(&rest[..end]).map_err(|_| MultipartError::Headers)?;
    Ok((text, end + 4))
}

/// `name` and `filename` from the `Content-Disposition: form-data` header.
fn disposition(headers: &str) -> Result<(String, Option<String>), MultipartError> {
    let mut found = None;
    for line in headers.split("\r\n").filter(|line| !line.is_empty()) {
        let (key, value) = line.split_once(':').ok_or(MultipartError::Headers)?;
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            if found.is_some() {
                return Err(MultipartError::Headers);
            }
            found = Some(value);
        }
    }
    let value = found.ok_or(MultipartError::NoName)?;
    let mut params = split_params(value).into_iter();
    let kind = params.next().unwrap_or_default();
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::NoName);
    }
    let (mut name, mut filename) = (None, None);
    for param in params {
        let Some((key, raw)) = param.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => filename = Some(value),
            _ => {}
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(MultipartError::NoName)?;
    Ok((name, filename))
}

/// Splits `a; b="x;y"; c` on the semicolons outside quotes.
fn split_params(value: &str) -> Vec<&str> {
    let mut params = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                params.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    params.push(&value[start..]);
    params
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(text: &str) -> Bytes {
        Bytes::from(text.replace('\n', "\r\n"))
    }

    #[test]
    fn reads_boundaries_plain_and_quoted() {
        assert_eq!(
            boundary("multipart/form-data; boundary=XyZ").unwrap(),
            "XyZ"
        );
        assert_eq!(
            boundary("multipart/form-data; charset=utf-8; BOUNDARY=\"a b:c\"").unwrap(),
            "a b:c"
        );
        for bad in [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "x; boundary=\"\"",
        ] {
            assert_eq!(boundary(bad), Err(MultipartError::Boundary), "{bad}");
        }
        assert_eq!(
            boundary(&format!("m; boundary={}", "a".repeat(71))),
            Err(MultipartError::Boundary)
        );
    }

    #[test]
    fn splits_parts_without_copying_them() {
        let raw = body(
            "preamble\n--B\nContent-Disposition: form-data; name=\"metadata\"\n\n{\"a\":1}\n--B  \ncontent-disposition: form-data; name=voice_sample; filename=\"x;y.wav\"\nContent-Type: audio/wav\n\nRIFF\n\n--B--\nepilogue",
        );
        let parts = parts(&raw, "B").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "metadata");
        assert_eq!(&parts[0].body[..], b"{\"a\":1}");
        assert_eq!(parts[1].name, "voice_sample");
        assert_eq!(parts[1].filename.as_deref(), Some("x;y.wav"));
        assert_eq!(&parts[1].body[..], b"RIFF\r\n");
        // The part is a view into the body, not a copy.
        let start = raw.as_ptr() as usize;
        let part = parts[1].body.as_ptr() as usize;
        assert!(part > start && part < start + raw.len());
    }

    #[test]
    fn keeps_binary_content_that_looks_like_a_boundary_without_its_crlf() {
        let raw = Bytes::from(
            b"--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\x00--B\xff\r\n--B--"
                .to_vec(),
        );
        let parts = parts(&raw, "B").unwrap();
        assert_eq!(&parts[0].body[..], b"\x00--B\xff");
    }

    #[test]
    fn refuses_broken_forms() {
        let cases = [
            ("no boundary at all", MultipartError::NoParts),
            (
                "--B\nContent-Disposition: form-data; name=\"a\"\n\nunterminated",
                MultipartError::Unterminated,
            ),
            (
                "--B\nContent-Disposition: form-data; name=\"a\"\n\nx\n--B",
                MultipartError::Unterminated,
            ),
            ("--Bjunk\n\n\n--B--", MultipartError::BoundaryLine),
            ("--B\nno colon here\n\nx\n--B--", MultipartError::Headers),
            (
                "--B\nContent-Type: text/plain\n\nx\n--B--",
                MultipartError::NoName,
            ),
            (
                "--B\nContent-Disposition: attachment; name=\"a\"\n\nx\n--B--",
                MultipartError::NoName,
            ),
            (
                "--B\nContent-Disposition: form-data; name=\"\"\n\nx\n--B--",
                MultipartError::NoName,
            ),
            ("--B\n\nx\n--B--", MultipartError::NoName),
        ];
        for (text, expected) in cases {
            assert_eq!(parts(&body(text), "B"), Err(expected), "{text:?}");
        }
        let many = format!(
            "{}--B--",
            "--B\nContent-Disposition: form-data; name=\"a\"\n\nx\n".repeat(MAX_PARTS + 1)
        );
        assert_eq!(parts(&body(&many), "B"), Err(MultipartError::TooManyParts));
        let huge_headers = format!(
            "--B\nX: {}\n\nx\n--B--",
            "h".repeat(MAX_PART_HEADER_BYTES + 10)
        );
        assert_eq!(
            parts(&body(&huge_headers), "B"),
            Err(MultipartError::Headers)
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parts(&Bytes::from(raw), "B");
        }

        #[test]
        fn never_panics_on_near_valid_forms(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("--B".to_string()), Just("\r\n".to_string()), Just("--".to_string()),
                    Just("Content-Disposition: form-data; name=\"metadata\"".to_string()),
                    Just("; filename=\"a\\\"b\"".to_string()), "[ -~]{0,12}",
                ],
                0..24,
            ),
        ) {
            let raw = Bytes::from(pieces.concat());
            if let Ok(parts) = parts(&raw, "B") {
                for part in parts {
                    prop_assert!(part.body.len() <= raw.len());
                }
            }
        }

        #[test]
        fn the_boundary_reader_never_panics(content_type in ".{0,120}") {
            let _ = boundary(&content_type);
        }
    }
}
