//! The caller key: who is calling, without keeping their number. A clone made for a caller is
//! found again by this key when they ring back; the raw phone number is never stored or logged.
//!
//! The key is the lowercase hex HMAC-SHA256 of the number reduced to `+` and digits, keyed with
//! `CALLER_KEY_SECRET` (by default derived from the webhook secret), so a store that leaks does
//! not reveal numbers, and two deployments with different secrets cannot correlate callers.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use super::WebhookSecret;

type HmacSha256 = Hmac<Sha256>;

/// What the default caller-key secret is derived from the webhook secret with.
const DERIVATION_LABEL: &[u8] = b"precall-webhook caller key v1";

/// A caller's key: 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallerKey(String);

impl CallerKey {
    /// A key as stored (for adapters reading it back). `None` unless it is 64 lowercase hex.
    pub fn parse(stored: &str) -> Option<Self> {
        (stored.len() == 64
            && stored
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| Self(stored.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The secret caller keys are made with. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct CallerKeySecret(SecretSlice<u8>);

impl fmt::Debug for CallerKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallerKeySecret([REDACTED])")
    }
}

impl CallerKeySecret {
    /// The configured secret (`CALLER_KEY_SECRET`).
    pub fn new(secret: &str) -> Self {
        Self(SecretSlice::from(secret.as_bytes().to_vec()))
    }

    /// The default: derived from the webhook secret, so it exists without configuration and
    /// changes when that secret is rotated.
    pub fn derived_from(webhook: &WebhookSecret) -> Self {
        Self(SecretSlice::from(webhook.derive(DERIVATION_LABEL)))
    }

    /// The key of `phone_number`, or `None` when it holds no digit. Everything but `+` and
    /// digits is dropped first, so `+31 6-1234 5678` and `+31612345678` are the same caller.
    pub fn key_of(&self, phone_number: &str) -> Option<CallerKey> {
        let reduced: String = phone_number
            .chars()
            .filter(|c| *c == '+' || c.is_ascii_digit())
            .collect();
        if !reduced.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        // HMAC accepts keys of any length; the error branch cannot happen for HMAC-SHA256.
        let mut mac = HmacSha256::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(reduced.as_bytes());
        Some(CallerKey(hex::encode(mac.finalize().into_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_same_number_written_differently_is_the_same_caller() {
        let secret = CallerKeySecret::new("k");
        let a = secret.key_of("+31 6-1234 5678").unwrap();
        let b = secret.key_of("+31612345678").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert!(
            !a.as_str().contains("31612345678"),
            "the number is not in its key"
        );
        assert_ne!(secret.key_of("+31612345679"), Some(a));
    }

    #[test]
    fn a_number_without_digits_has_no_key() {
        assert_eq!(CallerKeySecret::new("k").key_of("anonymous"), None);
        assert_eq!(CallerKeySecret::new("k").key_of("+"), None);
    }

    #[test]
    fn another_secret_gives_another_key_and_the_default_follows_the_webhook_secret() {
        let webhook = WebhookSecret::new(SecretString::from("whsec")).unwrap();
        let derived = CallerKeySecret::derived_from(&webhook).key_of("+31612345678");
        assert_eq!(
            derived,
            CallerKeySecret::derived_from(&webhook).key_of("+31612345678")
        );
        assert_ne!(
            derived,
            CallerKeySecret::new("whsec").key_of("+31612345678")
        );
        let other = WebhookSecret::new(SecretString::from("other")).unwrap();
        assert_ne!(
            derived,
            CallerKeySecret::derived_from(&other).key_of("+31612345678")
        );
    }

    #[test]
    fn debug_output_shows_no_secret_and_keys_parse_back() {
        assert!(!format!("{:?}", CallerKeySecret::new("s3cr3t")).contains("s3cr3t"));
        let key = CallerKeySecret::new("k").key_of("+1").unwrap();
        assert_eq!(CallerKey::parse(key.as_str()), Some(key));
        assert_eq!(CallerKey::parse("+31612345678"), None);
    }
}
