//! Logging settings: the level and line format names `LOG_LEVEL` and `LOG_FORMAT` accept, and
//! the `LogConfig` telemetry is built from.

use std::path::PathBuf;
use std::str::FromStr;

/// Log verbosity, as `LOG_LEVEL` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARNING` (or `WARN`)
    Warning,
    /// `ERROR`
    Error,
}

impl FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Self::Debug),
            "INFO" => Ok(Self::Info),
            "WARNING" | "WARN" => Ok(Self::Warning),
            "ERROR" => Ok(Self::Error),
            _ => Err("expected one of DEBUG, INFO, WARNING, ERROR".into()),
        }
    }
}

/// Log line format, as `LOG_FORMAT` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected text or json".into()),
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `LOG_LEVEL`.
    pub level: LogLevel,
    /// `LOG_FORMAT`.
    pub format: LogFormat,
    /// `LOG_DIR`: also write logs to a file there.
    pub directory: Option<PathBuf>,
}
