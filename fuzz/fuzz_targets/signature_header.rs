//! `SignatureHeader::parse` and `WebhookSecret::verify` on arbitrary header text.
//!
//! Input: `<header>\n<body>` (everything before the first `\n` is the header value, the rest is
//! the signed body; without a `\n` the whole input is the header and the body is empty). The
//! header is taken as lossy UTF-8, as `HeaderValue::to_str` only ever hands us valid text.
//!
//! Checked: no panic, and the parser and the verifier agree: a header that parses is never
//! `Malformed` in `verify` and vice versa; at its own timestamp it is either `Ok` or `Mismatch`;
//! far from it, it is `Expired`/`FromTheFuture` (saturating, no overflow); and re-signing the
//! body at the parsed timestamp gives a header that parses back to that timestamp and verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use precall_webhook::domain::{
    SIGNATURE_TOLERANCE_SECONDS, SignatureError, SignatureHeader, WebhookSecret,
};
use secrecy::SecretString;

/// `FUZZ_PRINT=1` prints each input's outcome (to inspect seeds and corpora with `-runs=0`).
fn print_outcomes() -> bool {
    static PRINT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PRINT.get_or_init(|| std::env::var_os("FUZZ_PRINT").is_some())
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[data.len()..]),
    };
    let header = String::from_utf8_lossy(header);
    let secret = WebhookSecret::new(SecretString::from("whsec_fuzz")).expect("non-empty secret");

    let parsed = SignatureHeader::parse(&header);
    if print_outcomes() {
        eprintln!(
            "{header:?} -> {parsed:?} / {:?}",
            secret.verify(Some(&header), body, 1_702_425_485)
        );
    }
    for now in [0, 1_702_425_485, i64::MIN, i64::MAX] {
        let verified = secret.verify(Some(&header), body, now);
        assert_eq!(
            matches!(parsed, Err(SignatureError::Malformed(_))),
            matches!(verified, Err(SignatureError::Malformed(_))),
            "parse and verify disagree on {header:?}: {parsed:?} vs {verified:?}"
        );
    }
    assert_eq!(secret.verify(None, body, 0), Err(SignatureError::Missing));

    let Ok(parsed) = parsed else { return };
    let ts = parsed.timestamp();
    assert!(ts >= 0, "a digits-only timestamp parsed as {ts}");
    match secret.verify(Some(&header), body, ts) {
        Ok(()) | Err(SignatureError::Mismatch) => {}
        other => panic!("at its own timestamp {header:?} gave {other:?}"),
    }
    if ts < i64::MAX - SIGNATURE_TOLERANCE_SECONDS {
        assert_eq!(
            secret.verify(Some(&header), body, ts + SIGNATURE_TOLERANCE_SECONDS + 1),
            Err(SignatureError::Expired)
        );
    }
    if ts > SIGNATURE_TOLERANCE_SECONDS {
        assert_eq!(
            secret.verify(Some(&header), body, ts - SIGNATURE_TOLERANCE_SECONDS - 1),
            Err(SignatureError::FromTheFuture)
        );
    }

    let signed = secret.sign(ts, body);
    let reparsed = SignatureHeader::parse(&signed).expect("our own header parses");
    assert_eq!(reparsed.timestamp(), ts);
    assert_eq!(secret.verify(Some(&signed), body, ts), Ok(()));
});
