//! Logging: `tracing` to stdout as text or JSON, optionally also to a file in `LOG_DIR`.
//!
//! Request handlers open a span carrying the `conversation_id`, so every line a request
//! writes names its conversation in both formats. Nothing logs secrets or audio bytes: the
//! types that hold them redact their `Debug` output.

use std::fs;
use std::io::{self, IsTerminal};

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use super::config::{LogConfig, LogFormat, LogLevel};
use super::log_writer::{BatchedWriter, BatchedWriterGuard};

/// The registry under the level filter: what the output layers sit on.
type Filtered = Layered<Targets, Registry>;

/// The log file's name inside `LOG_DIR`.
pub const LOG_FILE_NAME: &str = "precall-webhook.log";

/// Keeps the writer threads writing; dropping it (at exit) writes what is pending.
pub struct TelemetryGuard {
    _stdout: BatchedWriterGuard,
    _file: Option<BatchedWriterGuard>,
}

/// Our level for everything, but the libraries' chatter kept down: symphonia warns on every
/// odd audio file, and hyper/reqwest debug lines would drown a request's story. A static
/// per-target filter rather than `EnvFilter`: the latter tracks every span a request enters,
/// which cost more than the lines themselves on the webhook's hot path.
fn filter(level: LogLevel) -> Targets {
    let level = match level {
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warning => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    };
    let quieter = |cap: LevelFilter| level.min(cap);
    Targets::new()
        .with_default(level)
        .with_target("symphonia", quieter(LevelFilter::ERROR))
        .with_targets(
            ["hyper", "reqwest", "poem"].map(|target| (target, quieter(LevelFilter::WARN))),
        )
}

fn layer<W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<Filtered> + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_target(true)
        .with_span_events(FmtSpan::NONE);
    match format {
        LogFormat::Text => base.with_ansi(ansi).boxed(),
        LogFormat::Json => base
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .boxed(),
    }
}

/// Installs the global subscriber. Call once, at start-up.
///
/// # Errors
/// When `LOG_DIR` cannot be created or written, or a subscriber is already installed.
pub fn init(config: &LogConfig) -> io::Result<TelemetryGuard> {
    // Lines go to stdout in batches from a writer thread of their own (`log_writer`), at most
    // 50 ms after they are logged; never lossy; what is pending is written at exit.
    let (stdout_writer, stdout_guard) = BatchedWriter::start(io::stdout(), "log-stdout")?;
    let stdout = layer(config.format, stdout_writer, io::stdout().is_terminal());
    let (file_layer, guard) = match &config.directory {
        Some(dir) => {
            fs::create_dir_all(dir)
                .map_err(|e| io::Error::new(e.kind(), format!("LOG_DIR {}: {e}", dir.display())))?;
            let appender = tracing_appender::rolling::RollingFileAppender::builder()
                .rotation(tracing_appender::rolling::Rotation::NEVER)
                .filename_prefix(LOG_FILE_NAME)
                .build(dir)
                .map_err(|e| io::Error::other(format!("LOG_DIR {}: {e}", dir.display())))?;
            let (writer, guard) = BatchedWriter::start(appender, "log-file")?;
            (Some(layer(config.format, writer, false)), Some(guard))
        }
        None => (None, None),
    };
    // One global filter for both outputs rather than a per-layer one: per-layer filtering
    // keeps per-span and per-event bookkeeping on every line and span of a request.
    tracing_subscriber::registry()
        .with(filter(config.level))
        .with(stdout.and_then(file_layer))
        .try_init()
        .map_err(io::Error::other)?;
    // Panics are caught (per request, and inside the audio probe, where hostile files can make
    // the decoder panic); their message goes to the log in its format instead of raw stderr.
    std::panic::set_hook(Box::new(|info| {
        tracing::warn!(panic = %info, "a panic was caught; the service carries on");
    }));
    Ok(TelemetryGuard {
        _stdout: stdout_guard,
        _file: guard,
    })
}
