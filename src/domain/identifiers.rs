//! Identifiers that arrive in a webhook: `conversation_id` and `agent_id`.
//!
//! Both end up in upstream URLs, log lines and file metadata, so they are held to a strict
//! alphabet (`[A-Za-z0-9_-]`, 1–128 characters) at the edge and cannot carry path separators,
//! query strings or control characters any further.

use std::fmt;

/// Longest identifier we accept.
pub const MAX_ID_LEN: usize = 128;

/// Why an identifier was refused; `Display` is the sentence the sender sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Empty string.
    #[error("{field} must not be empty")]
    Empty {
        /// Field name in the payload.
        field: &'static str,
    },
    /// Longer than [`MAX_ID_LEN`].
    #[error("{field} is longer than {MAX_ID_LEN} characters")]
    TooLong {
        /// Field name in the payload.
        field: &'static str,
    },
    /// A character outside `[A-Za-z0-9_-]`.
    #[error("{field} may only contain letters, digits, '_' and '-'")]
    BadCharacter {
        /// Field name in the payload.
        field: &'static str,
    },
}

fn check_id(field: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { field });
    }
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { field });
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(IdError::BadCharacter { field });
    }
    Ok(())
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier, enforcing `[A-Za-z0-9_-]{1,128}`.
            ///
            /// # Errors
            /// An [`IdError`] naming the field and the rule it broke.
            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id($field, &value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier!(
    /// The ElevenLabs conversation this webhook is about; it identifies a delivery.
    ConversationId,
    "conversation_id"
);
identifier!(
    /// The ElevenLabs agent that will take the call and whose voice and greeting we set.
    AgentId,
    "agent_id"
);
identifier!(
    /// A voice id as returned by ElevenLabs when a voice is created.
    VoiceId,
    "voice_id"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_letters_digits_underscore_and_dash() {
        assert_eq!(
            ConversationId::parse("conv_abc-123XYZ").unwrap().as_str(),
            "conv_abc-123XYZ"
        );
        assert!(AgentId::parse("a".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn rejects_empty_too_long_and_foreign_characters() {
        assert_eq!(
            ConversationId::parse(""),
            Err(IdError::Empty {
                field: "conversation_id"
            })
        );
        assert_eq!(
            AgentId::parse("a".repeat(MAX_ID_LEN + 1)),
            Err(IdError::TooLong { field: "agent_id" })
        );
        for bad in ["../etc", "a b", "a/b", "a?x=1", "é", "a\n", "a%2F"] {
            assert_eq!(
                AgentId::parse(bad),
                Err(IdError::BadCharacter { field: "agent_id" }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_messages_name_the_field() {
        assert_eq!(
            ConversationId::parse("a b").unwrap_err().to_string(),
            "conversation_id may only contain letters, digits, '_' and '-'"
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_the_alphabet(s in ".{0,200}") {
            let ok = ConversationId::parse(s.clone()).is_ok();
            let expected = !s.is_empty() && s.len() <= MAX_ID_LEN
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            prop_assert_eq!(ok, expected);
        }
    }
}
