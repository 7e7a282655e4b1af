//! The personal touches: the greeting rendered from `DEFAULT_FIRST_MESSAGE`, and the name
//! given to a cloned voice (`{Name}_Clone_{YYYYMMDD}_{HHMMSS}`, UTC).

use std::fmt;

/// The placeholder a greeting template uses for the caller's name.
pub const NAME_PLACEHOLDER: &str = "{name}";
/// Longest greeting template we accept, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 1000;
/// Longest caller-derived part of a voice name, in characters.
const MAX_VOICE_NAME_STEM_CHARS: usize = 40;

/// A greeting template such as `Hallo {name}, fijn dat je belt!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreetingTemplate(String);

/// Why a greeting template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GreetingTemplateError {
    /// Blank template.
    #[error("must not be empty")]
    Empty,
    /// Longer than [`MAX_TEMPLATE_CHARS`].
    #[error("must be at most {MAX_TEMPLATE_CHARS} characters")]
    TooLong,
}

impl GreetingTemplate {
    /// Accepts any non-blank template of at most [`MAX_TEMPLATE_CHARS`] characters.
    ///
    /// # Errors
    /// [`GreetingTemplateError`] when blank or too long.
    pub fn parse(template: impl Into<String>) -> Result<Self, GreetingTemplateError> {
        let template = template.into();
        if template.trim().is_empty() {
            return Err(GreetingTemplateError::Empty);
        }
        if template.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(GreetingTemplateError::TooLong);
        }
        Ok(Self(template))
    }

    /// Renders the greeting for `name`. Every `{name}` is replaced in a single pass, so a name
    /// that itself contains `{name}` is inserted literally, never expanded again.
    pub fn render(&self, name: &str) -> String {
        self.0.replace(NAME_PLACEHOLDER, name)
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A calendar date and time in UTC, computed from unix seconds without any time-zone database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl UtcDateTime {
    /// Converts unix seconds (negative allowed) to a UTC calendar date and time.
    pub fn from_unix(seconds: i64) -> Self {
        let days = seconds.div_euclid(86_400);
        let secs_of_day = seconds.rem_euclid(86_400);
        // Howard Hinnant's days-from-civil inverse; exact for the proleptic Gregorian calendar.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            // The casts are exact: month is 1..=12, day 1..=31, the clock parts below 86 400.
            month: month as u32,
            day: day as u32,
            hour: (secs_of_day / 3600) as u32,
            minute: (secs_of_day % 3600 / 60) as u32,
            second: (secs_of_day % 60) as u32,
        }
    }
}

impl UtcDateTime {
    /// `YYYYMMDDTHHMMSSZ`, for names that sort by time.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The name of a cloned voice: `{Name}_Clone_{YYYYMMDD}_{HHMMSS}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceName(String);

impl VoiceName {
    /// Builds the voice name for a caller at `at`. The caller's name is reduced to letters,
    /// digits and `_` (whitespace and `-` become `_`, runs of `_` collapse, at most 40
    /// characters); with no usable name it is `Caller`.
    pub fn for_caller(name: Option<&str>, at: UtcDateTime) -> Self {
        let stem = name.map(sanitise_name).filter(|s| !s.is_empty());
        let stem = stem.as_deref().unwrap_or("Caller");
        Self(format!(
            "{stem}_Clone_{:04}{:02}{:02}_{:02}{:02}{:02}",
            at.year, at.month, at.day, at.hour, at.minute, at.second
        ))
    }

    /// The name a voice already has on the platform (one adopted after a lost answer was made
    /// at another time, so its time stamp is not ours to recompute).
    pub fn on_platform(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VoiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn sanitise_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let mapped = if c.is_alphanumeric() {
            c
        } else if c == '_' || c == '-' || c.is_whitespace() {
            '_'
        } else {
            continue;
        };
        if mapped == '_' && (out.is_empty() || out.ends_with('_')) {
            continue;
        }
        out.push(mapped);
    }
    let mut out: String = out.chars().take(MAX_VOICE_NAME_STEM_CHARS).collect();
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // 2025-12-10 12:34:56 UTC
    const AT: i64 = 1_765_370_096;

    #[test]
    fn renders_the_default_greeting_with_the_name() {
        let t = GreetingTemplate::parse("Hallo {name}, fijn dat je belt!").unwrap();
        assert_eq!(t.render("Ivan"), "Hallo Ivan, fijn dat je belt!");
    }

    #[test]
    fn a_name_containing_the_placeholder_is_not_expanded_again() {
        let t = GreetingTemplate::parse("Hi {name} and {name}").unwrap();
        assert_eq!(t.render("{name}"), "Hi {name} and {name}");
    }

    #[test]
    fn rejects_blank_and_overlong_templates() {
        assert_eq!(
            GreetingTemplate::parse("  "),
            Err(GreetingTemplateError::Empty)
        );
        assert_eq!(
            GreetingTemplate::parse("x".repeat(MAX_TEMPLATE_CHARS + 1)),
            Err(GreetingTemplateError::TooLong)
        );
    }

    #[test]
    fn converts_unix_seconds_to_utc() {
        let t = UtcDateTime::from_unix(AT);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2025, 12, 10, 12, 34, 56)
        );
        let epoch = UtcDateTime::from_unix(0);
        assert_eq!((epoch.year, epoch.month, epoch.day), (1970, 1, 1));
        // A leap day and the day before the epoch.
        let leap = UtcDateTime::from_unix(951_782_400);
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
        let before = UtcDateTime::from_unix(-1);
        assert_eq!(
            (before.year, before.month, before.day, before.hour),
            (1969, 12, 31, 23)
        );
    }

    #[test]
    fn names_the_voice_after_the_caller_and_the_utc_time() {
        let name = VoiceName::for_caller(Some("Ivan"), UtcDateTime::from_unix(AT));
        assert_eq!(name.as_str(), "Ivan_Clone_20251210_123456");
    }

    #[test]
    fn reduces_the_name_to_letters_digits_and_underscores() {
        let at = UtcDateTime::from_unix(AT);
        assert_eq!(
            VoiceName::for_caller(Some(" Jan-Willem  de Vries!/../"), at).as_str(),
            "Jan_Willem_de_Vries_Clone_20251210_123456"
        );
        assert_eq!(
            VoiceName::for_caller(Some("José"), at).as_str(),
            "José_Clone_20251210_123456"
        );
    }

    #[test]
    fn falls_back_to_caller_without_a_usable_name() {
        let at = UtcDateTime::from_unix(AT);
        assert_eq!(
            VoiceName::for_caller(None, at).as_str(),
            "Caller_Clone_20251210_123456"
        );
        assert_eq!(
            VoiceName::for_caller(Some("!!!"), at).as_str(),
            "Caller_Clone_20251210_123456"
        );
    }

    proptest! {
        #[test]
        fn voice_names_only_ever_hold_letters_digits_and_underscores(name in ".{0,200}", at in 0i64..4_102_444_800) {
            let v = VoiceName::for_caller(Some(&name), UtcDateTime::from_unix(at));
            prop_assert!(v.as_str().chars().all(|c| c.is_alphanumeric() || c == '_'));
            prop_assert!(v.as_str().chars().count() <= MAX_VOICE_NAME_STEM_CHARS + 23);
        }
    }
}
