//! What the webhook tells us about the caller, and what we echo back (`caller_info`).
//!
//! Caller details are personal data: the phone number is kept only for the registry that comes
//! later and is never echoed or logged; names and dates are bounded and free of control
//! characters, because they end up in a greeting spoken to the caller and in an upstream request.

/// Longest caller name we accept, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest date of birth we accept, in characters (it is free text: `11.12.2007`, `2007-12-11`…).
pub const MAX_DATE_OF_BIRTH_CHARS: usize = 32;
/// Longest phone number we accept, in characters.
pub const MAX_PHONE_CHARS: usize = 32;

/// Why caller metadata was refused; `Display` is the sentence the sender sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    /// A field is longer than its limit.
    #[error("caller_metadata.{field} is longer than {max} characters")]
    TooLong {
        /// Field name in the payload.
        field: &'static str,
        /// Its limit, in characters.
        max: usize,
    },
    /// A field holds a control character (newline, NUL…).
    #[error("caller_metadata.{field} must not contain control characters")]
    ControlCharacter {
        /// Field name in the payload.
        field: &'static str,
    },
}

/// A field of caller metadata after trimming; blank strings become `None`.
fn clean(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, CallerError> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(CallerError::TooLong { field, max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CallerError::ControlCharacter { field });
    }
    Ok(Some(trimmed.to_owned()))
}

/// The caller's details as sent, validated. All fields are optional.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallerMetadata {
    name: Option<String>,
    date_of_birth: Option<String>,
    phone_number: Option<String>,
}

impl CallerMetadata {
    /// Validates the three optional fields (trimmed; blank counts as absent).
    ///
    /// # Errors
    /// A [`CallerError`] naming the field.
    pub fn parse(
        name: Option<String>,
        date_of_birth: Option<String>,
        phone_number: Option<String>,
    ) -> Result<Self, CallerError> {
        Ok(Self {
            name: clean("name", name, MAX_NAME_CHARS)?,
            date_of_birth: clean("date_of_birth", date_of_birth, MAX_DATE_OF_BIRTH_CHARS)?,
            phone_number: clean("phone_number", phone_number, MAX_PHONE_CHARS)?,
        })
    }

    /// The caller's name, if given.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The caller's date of birth, as sent.
    pub fn date_of_birth(&self) -> Option<&str> {
        self.date_of_birth.as_deref()
    }

    /// The caller's phone number. Never echoed in a response, never logged.
    pub fn phone_number(&self) -> Option<&str> {
        self.phone_number.as_deref()
    }

    /// What we return to the agent: name and date of birth, never the phone number.
    pub fn info(&self) -> CallerInfo {
        CallerInfo {
            name: self.name.clone(),
            date_of_birth: self.date_of_birth.clone(),
        }
    }
}

impl std::fmt::Debug for CallerMetadata {
    // Personal data stays out of debug output (and so out of any log that formats it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerMetadata")
            .field("has_name", &self.name.is_some())
            .field("has_date_of_birth", &self.date_of_birth.is_some())
            .field("has_phone_number", &self.phone_number.is_some())
            .finish()
    }
}

/// The caller details echoed back in the webhook response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerInfo {
    /// The caller's name, when given.
    pub name: Option<String>,
    /// The caller's date of birth, when given.
    pub date_of_birth: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn keeps_trimmed_values_and_treats_blank_as_absent() {
        let m = CallerMetadata::parse(s("  Ivan "), s("   "), None).unwrap();
        assert_eq!(m.name(), Some("Ivan"));
        assert_eq!(m.date_of_birth(), None);
        assert_eq!(m.phone_number(), None);
    }

    #[test]
    fn caller_info_never_holds_the_phone_number() {
        let m = CallerMetadata::parse(s("Ivan"), s("11.12.2007"), s("+31612345678")).unwrap();
        let info = m.info();
        assert_eq!(info.name.as_deref(), Some("Ivan"));
        assert_eq!(info.date_of_birth.as_deref(), Some("11.12.2007"));
        assert!(!format!("{info:?}{m:?}").contains("+316"));
    }

    #[test]
    fn debug_output_holds_no_personal_data() {
        let m = CallerMetadata::parse(s("Ivan"), s("11.12.2007"), s("+31612345678")).unwrap();
        let debug = format!("{m:?}");
        assert!(!debug.contains("Ivan") && !debug.contains("2007"));
    }

    #[test]
    fn rejects_overlong_fields_and_control_characters() {
        assert_eq!(
            CallerMetadata::parse(Some("x".repeat(MAX_NAME_CHARS + 1)), None, None),
            Err(CallerError::TooLong {
                field: "name",
                max: MAX_NAME_CHARS
            })
        );
        assert_eq!(
            CallerMetadata::parse(s("Iv\nan"), None, None),
            Err(CallerError::ControlCharacter { field: "name" })
        );
        assert!(CallerMetadata::parse(None, None, Some("1".repeat(33))).is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(CallerMetadata::parse(Some("é".repeat(MAX_NAME_CHARS)), None, None).is_ok());
    }
}
