//! The `elevenlabs-signature` webhook signature: parsing the header, verifying the HMAC over the
//! exact raw body, and producing a header (for the CLI and for tests).
//!
//! Wire format: `t=<unix seconds>,v0=<lowercase hex HMAC-SHA256(secret, "<t>." + body)>`.
//! Parts may come in any order, with whitespace around them, and with extra schemes (`v1=…`)
//! that we ignore, so that a sender adding a new scheme does not lock us out.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from our clock, either way, in seconds (30 minutes).
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 30 * 60;

/// Longest header we are willing to parse; real headers are ~80 bytes.
const MAX_HEADER_LEN: usize = 1024;

/// The shared webhook secret. Its `Debug` output is redacted (it is a `secrecy` type inside).
#[derive(Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    /// Wraps a secret; an empty secret is refused because it would make every signature forgeable.
    ///
    /// # Errors
    /// [`EmptySecret`] when `secret` is empty.
    pub fn new(secret: SecretString) -> Result<Self, EmptySecret> {
        if secret.expose_secret().is_empty() {
            return Err(EmptySecret);
        }
        Ok(Self(secret))
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; the error branch cannot happen for HMAC-SHA256.
        HmacSha256::new_from_slice(self.0.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// A key derived from this secret for another purpose, named by `label` (HMAC of the label),
    /// so the webhook secret itself is never reused as is.
    pub fn derive(&self, label: &[u8]) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(label);
        mac.finalize().into_bytes().to_vec()
    }

    /// Signs `body` as sent at `timestamp`, returning the full header value
    /// (`t=…,v0=…`). Used by the CLI's `sign`/`send` and by tests.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = hex::encode(mac.finalize().into_bytes());
        format!("t={timestamp},v0={digest}")
    }

    /// Verifies `header` (the raw header value, `None` when absent) against the exact raw `body`,
    /// with `now` being the current unix time in seconds.
    ///
    /// The digest is compared in constant time; the timestamp must be within
    /// [`SIGNATURE_TOLERANCE_SECONDS`] of `now`, in the past or the future.
    ///
    /// # Errors
    /// A [`SignatureError`] naming what is wrong.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
        // The window is checked with saturating arithmetic: a timestamp near i64::MIN/MAX
        // must be "expired"/"in the future", never an overflow.
        let age = now.saturating_sub(header.timestamp);
        if age > SIGNATURE_TOLERANCE_SECONDS {
            return Err(SignatureError::Expired);
        }
        if age < -SIGNATURE_TOLERANCE_SECONDS {
            return Err(SignatureError::FromTheFuture);
        }
        let mut mac = self.mac();
        mac.update(header.timestamp_text());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(&header.digest)
            .map_err(|_| SignatureError::Mismatch)
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// The webhook secret was empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret must not be empty")]
pub struct EmptySecret;

/// A parsed `elevenlabs-signature` header: the timestamp and the `v0` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    timestamp: i64,
    /// The timestamp's digits exactly as sent (the first `timestamp_len`): the HMAC covers these
    /// bytes, not our re-rendering of them. Held inline: a forged-request flood parses one
    /// header per request.
    timestamp_digits: [u8; MAX_TIMESTAMP_DIGITS],
    timestamp_len: u8,
    digest: [u8; 32],
}

impl SignatureHeader {
    /// Parses `t=<unix seconds>,v0=<64 hex chars>`, order-independent, ignoring whitespace around
    /// parts and any other `key=value` part (such as a future `v1=`).
    ///
    /// # Errors
    /// [`SignatureError::Malformed`] with the reason.
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SignatureError::Malformed("header too long"));
        }
        let mut timestamp = None;
        let mut digest = None;
        for part in header.split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value) = part
                .split_once('=')
                .ok_or(SignatureError::Malformed("a part is not key=value"))?;
            match key.trim() {
                "t" if timestamp.is_some() => {
                    return Err(SignatureError::Malformed("more than one timestamp"));
                }
                "t" => timestamp = Some(parse_timestamp(value.trim())?),
                "v0" if digest.is_some() => {
                    return Err(SignatureError::Malformed("more than one v0 digest"));
                }
                "v0" => digest = Some(parse_digest(value.trim())?),
                _ => {}
            }
        }
        let Timestamp {
            value: timestamp,
            digits: timestamp_digits,
            len: timestamp_len,
        } = timestamp.ok_or(SignatureError::Malformed("no timestamp (t=)"))?;
        let digest = digest.ok_or(SignatureError::Malformed("no v0 digest"))?;
        Ok(Self {
            timestamp,
            timestamp_digits,
            timestamp_len,
            digest,
        })
    }

    /// The timestamp as sent.
    fn timestamp_text(&self) -> &[u8] {
        &self.timestamp_digits[..usize::from(self.timestamp_len)]
    }
}

/// Digits in the longest timestamp we parse (`i64::MAX` has 19).
const MAX_TIMESTAMP_DIGITS: usize = 19;

/// A parsed `t=` value and its digits as sent.
struct Timestamp {
    value: i64,
    digits: [u8; MAX_TIMESTAMP_DIGITS],
    len: u8,
}

fn parse_timestamp(text: &str) -> Result<Timestamp, SignatureError> {
    // Digits only: no sign, no "+", no exponent. Bounded length keeps the parse cheap.
    let not_unix_seconds = SignatureError::Malformed("timestamp is not unix seconds");
    if text.is_empty()
        || text.len() > MAX_TIMESTAMP_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(not_unix_seconds);
    }
    let value = text.parse::<i64>().map_err(|_| not_unix_seconds.clone())?;
    let mut digits = [0u8; MAX_TIMESTAMP_DIGITS];
    digits[..text.len()].copy_from_slice(text.as_bytes());
    let len = u8::try_from(text.len()).map_err(|_| not_unix_seconds)?;
    Ok(Timestamp { value, digits, len })
}

fn parse_digest(text: &str) -> Result<[u8; 32], SignatureError> {
    let mut digest = [0u8; 32];
    // Senders emit lowercase; accepting uppercase costs nothing and is not a weakness.
    hex::decode_to_slice(text, &mut digest)
        .map_err(|_| SignatureError::Malformed("v0 is not 64 hex characters"))?;
    Ok(digest)
}

/// Why a signature was refused. All of them answer `401 INVALID_SIGNATURE`; the `Display`
/// text is safe to show the sender (it never contains the expected digest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `elevenlabs-signature` header.
    #[error("Missing elevenlabs-signature header")]
    Missing,
    /// The header is not `t=…,v0=…`.
    #[error("Malformed elevenlabs-signature header: {0}")]
    Malformed(&'static str),
    /// The digest does not match the body and timestamp.
    #[error("Signature does not match the request body")]
    Mismatch,
    /// The timestamp is more than 30 minutes old.
    #[error("Signature timestamp is older than 30 minutes")]
    Expired,
    /// The timestamp is more than 30 minutes ahead of our clock.
    #[error("Signature timestamp is more than 30 minutes in the future")]
    FromTheFuture,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_702_425_485;

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::new(SecretString::from(s)).unwrap()
    }

    #[test]
    fn verifies_a_signature_made_with_the_same_secret() {
        let s = secret("whsec");
        let header = s.sign(NOW, b"{\"a\":1}");
        assert_eq!(s.verify(Some(&header), b"{\"a\":1}", NOW), Ok(()));
    }

    #[test]
    fn matches_a_digest_computed_independently() {
        // HMAC-SHA256(key="secret", "1700000000.hello"), computed with Python's hmac module.
        let s = secret("secret");
        let header = s.sign(1_700_000_000, b"hello");
        assert_eq!(
            header,
            "t=1700000000,v0=47b1df0ab12338b2685470b0d2b37033add7c3b2bc8172f313e77413f1bb78c8"
        );
    }

    #[test]
    fn the_digest_covers_the_timestamp_as_sent_leading_zeros_included() {
        let s = secret("k");
        let digest = |signed_text: &str| {
            let mut mac = s.mac();
            mac.update(signed_text.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        };
        let padded = format!("t=000{NOW},v0={}", digest(&format!("000{NOW}.body")));
        assert_eq!(s.verify(Some(&padded), b"body", NOW), Ok(()));
        let rendered = format!("t=000{NOW},v0={}", digest(&format!("{NOW}.body")));
        assert_eq!(
            s.verify(Some(&rendered), b"body", NOW),
            Err(SignatureError::Mismatch)
        );
        let longest = format!("t={:019},v0={}", NOW, digest(&format!("{NOW:019}.body")));
        assert_eq!(s.verify(Some(&longest), b"body", NOW), Ok(()));
    }

    #[test]
    fn rejects_a_missing_header() {
        assert_eq!(
            secret("k").verify(None, b"", NOW),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn rejects_a_tampered_body() {
        let s = secret("k");
        let header = s.sign(NOW, b"body");
        assert_eq!(
            s.verify(Some(&header), b"bodY", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_tampered_timestamp() {
        let s = secret("k");
        let header = s
            .sign(NOW, b"body")
            .replace(&NOW.to_string(), &(NOW + 1).to_string());
        assert_eq!(
            s.verify(Some(&header), b"body", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_signature_made_with_another_secret() {
        let header = secret("a").sign(NOW, b"body");
        assert_eq!(
            secret("b").verify(Some(&header), b"body", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn accepts_a_signature_exactly_30_minutes_old_or_ahead() {
        let s = secret("k");
        for t in [
            NOW - SIGNATURE_TOLERANCE_SECONDS,
            NOW + SIGNATURE_TOLERANCE_SECONDS,
        ] {
            assert_eq!(s.verify(Some(&s.sign(t, b"x")), b"x", NOW), Ok(()));
        }
    }

    #[test]
    fn rejects_a_signature_older_than_30_minutes() {
        let s = secret("k");
        let header = s.sign(NOW - SIGNATURE_TOLERANCE_SECONDS - 1, b"x");
        assert_eq!(
            s.verify(Some(&header), b"x", NOW),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn rejects_a_signature_more_than_30_minutes_in_the_future() {
        let s = secret("k");
        let header = s.sign(NOW + SIGNATURE_TOLERANCE_SECONDS + 1, b"x");
        assert_eq!(
            s.verify(Some(&header), b"x", NOW),
            Err(SignatureError::FromTheFuture)
        );
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let s = secret("k");
        let header = s.sign(i64::MAX, b"x");
        assert_eq!(
            s.verify(Some(&header), b"x", i64::MIN),
            Err(SignatureError::FromTheFuture)
        );
        let header = s.sign(0, b"x");
        assert_eq!(
            s.verify(Some(&header), b"x", i64::MAX),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn parses_parts_in_any_order_with_whitespace_and_extra_schemes() {
        let s = secret("k");
        let signed = s.sign(NOW, b"x");
        let digest = signed.split("v0=").nth(1).unwrap();
        let header = format!(" v1=abc , v0={digest} ,t={NOW} ");
        assert_eq!(s.verify(Some(&header), b"x", NOW), Ok(()));
    }

    #[test]
    fn rejects_malformed_headers() {
        let digest = "a".repeat(64);
        for header in [
            "",
            "garbage",
            &format!("v0={digest}"),
            "t=1702425485",
            &format!("t=-5,v0={digest}"),
            &format!("t=+5,v0={digest}"),
            &format!("t=1e9,v0={digest}"),
            &format!("t=99999999999999999999,v0={digest}"),
            "t=1702425485,v0=abc",
            &format!("t=1702425485,v0={}", "g".repeat(64)),
            &format!("t=1,t=2,v0={digest}"),
            &format!("t=1,v0={digest},v0={digest}"),
            &"t=1,".repeat(400),
        ] {
            assert!(
                matches!(
                    SignatureHeader::parse(header),
                    Err(SignatureError::Malformed(_))
                ),
                "{header:?} should be malformed"
            );
        }
    }

    #[test]
    fn refuses_an_empty_secret() {
        assert!(WebhookSecret::new(SecretString::from("")).is_err());
    }

    #[test]
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", secret("hunter2")).contains("hunter2"));
    }

    proptest! {
        #[test]
        fn a_signature_made_in_the_window_verifies(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            key in "[ -~]{1,64}",
            skew in -SIGNATURE_TOLERANCE_SECONDS..=SIGNATURE_TOLERANCE_SECONDS,
        ) {
            let s = secret(&key);
            let header = s.sign(NOW + skew, &body);
            prop_assert_eq!(s.verify(Some(&header), &body, NOW), Ok(()));
        }

        #[test]
        fn changing_one_byte_of_body_secret_or_timestamp_breaks_it(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            key in "[a-z]{1,64}",
            index in any::<proptest::sample::Index>(),
            flip in 1u8..=255,
            skew in -SIGNATURE_TOLERANCE_SECONDS..SIGNATURE_TOLERANCE_SECONDS,
        ) {
            let s = secret(&key);
            let header = s.sign(NOW + skew, &body);

            let mut tampered = body.clone();
            let i = index.index(tampered.len());
            tampered[i] ^= flip;
            prop_assert_eq!(s.verify(Some(&header), &tampered, NOW), Err(SignatureError::Mismatch));

            let mut other_key = key.clone().into_bytes();
            let k = index.index(other_key.len());
            other_key[k] = if other_key[k] == b'z' { b'a' } else { other_key[k] + 1 };
            let other = secret(std::str::from_utf8(&other_key).unwrap());
            prop_assert_eq!(other.verify(Some(&header), &body, NOW), Err(SignatureError::Mismatch));

            let moved = header.replacen(&format!("t={}", NOW + skew), &format!("t={}", NOW + skew + 1), 1);
            prop_assert_eq!(s.verify(Some(&moved), &body, NOW), Err(SignatureError::Mismatch));
        }

        #[test]
        fn the_header_parser_never_panics(header in ".{0,200}") {
            let _ = SignatureHeader::parse(&header);
        }

        #[test]
        fn the_header_parser_never_panics_on_near_valid_input(
            t in "[0-9+-]{0,25}", v in "[0-9a-fA-F]{0,70}", extra in "[ ,=a-z0-9]{0,20}",
        ) {
            let _ = SignatureHeader::parse(&format!("t={t},v0={v}{extra}"));
        }
    }
}
