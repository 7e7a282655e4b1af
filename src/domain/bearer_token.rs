//! The bearer token ElevenLabs sends to the conversation-initiation webhook
//! (`Authorization: Bearer <token>`, a request header configured on the ElevenLabs side; that
//! webhook has no signature). Compared in constant time: both sides are reduced to an HMAC of
//! fixed length first, so neither the token's content nor its length leaks through timing.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Key of the HMAC both sides are reduced with; secrecy lies in the token, not here.
const COMPARISON_KEY: &[u8] = b"precall-webhook bearer comparison v1";
/// Shortest token accepted: guessing must be hopeless.
pub const MIN_TOKEN_CHARS: usize = 16;
/// Longest token accepted (it travels in a header).
pub const MAX_TOKEN_CHARS: usize = 512;

/// Why a token was refused at configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerTokenError {
    /// Shorter than [`MIN_TOKEN_CHARS`] or longer than [`MAX_TOKEN_CHARS`].
    #[error("must be {MIN_TOKEN_CHARS} to {MAX_TOKEN_CHARS} characters")]
    Length,
    /// Holds a space, a control character or non-ASCII (it could not be sent in a header).
    #[error("must be visible ASCII without spaces")]
    Characters,
}

/// The expected token, kept only as its digest. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

impl BearerToken {
    /// Accepts 16 to 512 visible ASCII characters.
    ///
    /// # Errors
    /// [`BearerTokenError`] when too short, too long, or holding other characters.
    pub fn new(token: &str) -> Result<Self, BearerTokenError> {
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BearerTokenError::Characters);
        }
        if !(MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&token.len()) {
            return Err(BearerTokenError::Length);
        }
        Ok(Self {
            digest: digest(token.as_bytes()),
        })
    }

    /// Whether an `Authorization` header value carries this token: the scheme `Bearer`
    /// (any case, as RFC 9110 has it), one or more spaces, then exactly the token.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some((scheme, rest)) = value.split_at_checked(6) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer") || !rest.starts_with(b" ") {
            return false;
        }
        let presented = rest.trim_ascii_start();
        let mut mac = comparison_mac();
        mac.update(presented);
        mac.verify_slice(&self.digest).is_ok()
    }
}

fn comparison_mac() -> HmacSha256 {
    // HMAC accepts keys of any length; the error branch cannot happen.
    HmacSha256::new_from_slice(COMPARISON_KEY).unwrap_or_else(|_| unreachable!())
}

fn digest(token: &[u8]) -> [u8; 32] {
    let mut mac = comparison_mac();
    mac.update(token);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "s3cr3t-initiation-token";

    fn token() -> BearerToken {
        BearerToken::new(TOKEN).unwrap()
    }

    #[test]
    fn the_right_token_is_admitted_with_any_case_of_the_scheme() {
        for header in [
            format!("Bearer {TOKEN}"),
            format!("bearer {TOKEN}"),
            format!("BEARER   {TOKEN}"),
        ] {
            assert!(token().admits(Some(header.as_bytes())), "{header}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let near_misses = [
            String::new(),
            TOKEN.to_owned(),
            format!("Basic {TOKEN}"),
            format!("Bearer{TOKEN}"),
            format!("Bearer {TOKEN} "),
            format!("Bearer {TOKEN}x"),
            format!("Bearer {}", &TOKEN[1..]),
            "Bearer ".to_owned(),
            "Bear".to_owned(),
        ];
        for header in near_misses {
            assert!(!token().admits(Some(header.as_bytes())), "{header:?}");
        }
        assert!(!token().admits(None));
        assert!(!token().admits(Some(b"Bearer \xff\xfe")));
    }

    #[test]
    fn tokens_that_are_short_or_unsendable_are_refused_at_configuration() {
        assert_eq!(
            BearerToken::new("short").unwrap_err(),
            BearerTokenError::Length
        );
        assert_eq!(
            BearerToken::new(&"x".repeat(MAX_TOKEN_CHARS + 1)).unwrap_err(),
            BearerTokenError::Length
        );
        for bad in [
            "with a space in it!",
            "tab\there-and-more-text",
            "ünïcødé-töken-lang",
        ] {
            assert_eq!(
                BearerToken::new(bad).unwrap_err(),
                BearerTokenError::Characters,
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_nothing_of_the_token() {
        assert!(!format!("{:?}", token()).contains(TOKEN));
    }
}
