//! The multipart reader: `multipart::parts` and `payload::parse` on arbitrary bodies, and
//! `multipart::boundary` on arbitrary content types.
//!
//! The whole input is a body for the fixed boundary `XyZ` (as sent with
//! `multipart/form-data; boundary=XyZ`). In addition, the input's first line (before the first
//! `\n`) is read as a content type; when `boundary` accepts it, the rest of the input is split
//! with that boundary too.
//!
//! Checked: no panic; every part is a slice of the body (zero-copy), in order, not overlapping,
//! never containing its delimiter, with a non-empty name; at most 8 parts; boundaries that are
//! accepted follow RFC 2046's length and character rules; rejection messages stay bounded.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use precall_webhook::app::http::{multipart, payload};

const MAX_PARTS: usize = 8;
const MAX_MESSAGE_BYTES: usize = 4096;

fn check_parts(body: &Bytes, boundary: &str) {
    let Ok(parts) = multipart::parts(body, boundary) else {
        return;
    };
    assert!(parts.len() <= MAX_PARTS, "{} parts", parts.len());
    let delimiter = format!("\r\n--{boundary}");
    let start = body.as_ptr() as usize;
    let mut previous_end = start;
    for part in &parts {
        assert!(!part.name.is_empty());
        let at = part.body.as_ptr() as usize;
        // Empty `Bytes::slice`s may not point into the body; only non-empty ones must.
        if !part.body.is_empty() {
            assert!(
                at >= previous_end && at + part.body.len() <= start + body.len(),
                "part {:?} is not a slice of the body after the previous part",
                part.name
            );
            previous_end = at + part.body.len();
        }
        assert!(
            !part
                .body
                .windows(delimiter.len())
                .any(|w| w == delimiter.as_bytes()),
            "part {:?} contains its delimiter",
            part.name
        );
    }
}

/// `FUZZ_PRINT=1` prints each input's outcome (to inspect seeds and corpora with `-runs=0`).
fn print_outcomes() -> bool {
    static PRINT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);

    check_parts(&body, "XyZ");
    if print_outcomes() {
        eprintln!(
            "parts: {:?}",
            multipart::parts(&body, "XyZ").map(|p| p.len())
        );
        eprintln!(
            "payload: {:?}",
            payload::parse(Some("multipart/form-data; boundary=XyZ"), body.clone())
        );
    }
    if let Err(rejection) = payload::parse(Some("multipart/form-data; boundary=XyZ"), body.clone())
    {
        assert!(rejection.error.to_string().len() <= MAX_MESSAGE_BYTES);
    }

    let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..line_end]);
    if let Ok(boundary) = multipart::boundary(&content_type) {
        assert!(!boundary.is_empty() && boundary.len() <= 70, "{boundary:?}");
        assert!(
            boundary.bytes().all(|b| b.is_ascii_graphic() || b == b' ') && !boundary.ends_with(' '),
            "{boundary:?}"
        );
        let rest = body.slice((line_end + 1).min(data.len())..);
        check_parts(&rest, &boundary);
        let _ = payload::parse(Some(&content_type), rest);
    }
});
