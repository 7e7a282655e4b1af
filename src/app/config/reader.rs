//! Reading variables one by one: the `Reader` that looks each name up, applies its default,
//! parses it and collects one error line per bad variable, plus the value parsers the
//! variables share (numbers in a range, whole numbers, seconds, booleans).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

/// Looks variables up through `var` and remembers every problem instead of stopping at the first.
pub(super) struct Reader<'a, F> {
    var: &'a F,
    errors: Vec<String>,
}

impl<'a, F: Fn(&str) -> Option<String>> Reader<'a, F> {
    /// A reader with no problems found yet.
    pub(super) fn new(var: &'a F) -> Self {
        Self {
            var,
            errors: Vec::new(),
        }
    }

    /// The problems found, one line per variable, in the order the variables were read.
    pub(super) fn into_errors(self) -> Vec<String> {
        self.errors
    }

    fn raw(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    pub(super) fn secret(&mut self, name: &str, required: bool) -> Option<SecretString> {
        match (self.raw(name), required) {
            (Some(v), _) => Some(SecretString::from(v.trim().to_owned())),
            (None, true) => {
                self.errors.push(format!("{name}: required but not set"));
                None
            }
            (None, false) => None,
        }
    }

    pub(super) fn optional_path(&mut self, name: &str) -> Option<PathBuf> {
        self.raw(name).map(|v| PathBuf::from(v.trim()))
    }

    pub(super) fn parse<T: FromStr>(&mut self, name: &str, default: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        self.parse_with(name, default, |v| {
            v.trim().parse::<T>().map_err(|e| e.to_string())
        })
    }

    /// Like [`Reader::parse_with`] for a variable without a fixed default: `None` when unset.
    pub(super) fn optional_with<T>(
        &mut self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(name)?;
        self.parse_with(name, &value, parse)
    }

    pub(super) fn parse_with<T>(
        &mut self,
        name: &str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(name).unwrap_or_else(|| default.to_owned());
        match parse(&value) {
            Ok(v) => Some(v),
            Err(why) => {
                // Values are not echoed: a secret pasted into the wrong variable must not leak.
                self.errors.push(format!("{name}: invalid value ({why})"));
                None
            }
        }
    }
}

pub(super) fn positive_number(v: &str, min: f64, max: f64) -> Result<f64, String> {
    let n: f64 = v
        .trim()
        .parse()
        .map_err(|_| "expected a number".to_string())?;
    if !n.is_finite() || n < min || n > max {
        return Err(format!("expected a number from {min} to {max}"));
    }
    Ok(n)
}

pub(super) fn whole(v: &str, min: usize, max: usize) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("expected a whole number from {min} to {max}"))
}

pub(super) fn seconds(v: &str) -> Result<Duration, String> {
    positive_number(v, 0.001, 3600.0).map(Duration::from_secs_f64)
}

pub(super) fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// A label value that marks this deployment's clones: 1–64 of `[A-Za-z0-9_-]`.
pub(super) fn owner_tag(v: &str) -> Result<String, String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| v.to_owned())
        .ok_or_else(|| "expected 1 to 64 letters, digits, '_' or '-'".into())
}
