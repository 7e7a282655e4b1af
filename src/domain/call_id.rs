//! The telephony call a conversation runs on: Twilio's `call_sid` (`CA…`) or a SIP `call_id`
//! (often `local@host`). It binds a clone to a call at conversation initiation and finds it
//! again in the post-call event. SIP allows more than our webhook identifiers do, so the rule is
//! wider — visible ASCII, no spaces — but still keeps control characters and spaces out of logs
//! and store keys.

use std::fmt;

/// Longest call id we accept.
pub const MAX_CALL_ID_LEN: usize = 256;

/// A call id: 1–256 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(String);

impl CallId {
    /// Parses a call id; `None` when empty, too long, or holding anything but visible ASCII.
    pub fn parse(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        let visible = value.bytes().all(|b| b.is_ascii_graphic());
        (!value.is_empty() && value.len() <= MAX_CALL_ID_LEN && visible).then_some(Self(value))
    }

    /// The call id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_and_sip_ids_parse_and_spaces_or_controls_do_not() {
        assert!(CallId::parse("CA5b2f0e1c9d8a7b6c5d4e3f2a1b0c9d8e").is_some());
        assert!(CallId::parse("a84b4c76e66710@pc33.atlanta.example").is_some());
        for bad in ["", "a b", "a\nb", "é", &"x".repeat(MAX_CALL_ID_LEN + 1)] {
            assert_eq!(CallId::parse(bad), None, "{bad:?}");
        }
    }
}
