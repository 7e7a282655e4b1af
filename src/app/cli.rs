//! The command line: `serve` (the default), `sign`, `send`, `openapi`, `healthcheck`,
//! `voices list` / `voices sweep` against the ElevenLabs account, and `agent enable-overrides`
//! (in `cli/agent.rs`).

mod agent;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use super::config::{Config, OFFLINE_WEBHOOK_SECRET};
use super::http::{self, SIGNATURE_HEADER};
use super::runtime::Flavor;
use super::startup::{self, Application, Backends};
use super::telemetry;
use crate::adapters::SystemClock;
use crate::domain::{InventoryItem, SweepAction, SweepReport, WebhookSecret};
use crate::ports::{Clock, VoiceState};
use agent::AgentCommand;

/// ElevenLabs pre-call webhook service.
#[derive(Debug, Parser)]
#[command(name = "precall-webhook", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the webhook (the default).
    Serve {
        /// Use in-memory stand-ins instead of ElevenLabs; the webhook secret defaults to
        /// `dev-secret`. Needs no keys.
        #[arg(long)]
        offline: bool,
    },
    /// Print the `elevenlabs-signature` header value for a body file.
    Sign {
        /// The webhook secret.
        #[arg(long, env = "ELEVENLABS_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// Unix timestamp to sign at (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
        /// The exact body that will be sent.
        file: PathBuf,
    },
    /// Sign and POST a webhook, then print the response.
    Send {
        /// The webhook URL.
        #[arg(long, default_value = "http://127.0.0.1:3005/webhook")]
        url: String,
        /// The webhook secret (default: `dev-secret`, the offline server's).
        #[arg(long, env = "ELEVENLABS_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Build the payload around this audio file instead of reading FILE.
        #[arg(long, conflicts_with_all = ["file", "tone"])]
        sample: Option<PathBuf>,
        /// Build the payload around a generated tone of this many seconds (no file needed).
        #[arg(long, conflicts_with = "file")]
        tone: Option<f64>,
        /// With --sample: the caller's name.
        #[arg(long, default_value = "Ivan")]
        name: String,
        /// With --sample: the agent id.
        #[arg(long, default_value = "agent_demo")]
        agent: String,
        /// A JSON payload file, sent as is.
        #[arg(required_unless_present_any = ["sample", "tone"])]
        file: Option<PathBuf>,
    },
    /// Print the OpenAPI spec.
    Openapi,
    /// Exit 0 when the local server answers /health (for container health checks).
    Healthcheck {
        /// The health URL (default: this machine, `PRECALL_WEBHOOK_PORT` or 3005).
        #[arg(long)]
        url: Option<String>,
    },
    /// This deployment's clones on the ElevenLabs account (needs `ELEVENLABS_API_KEY`).
    Voices {
        #[command(subcommand)]
        command: VoicesCommand,
    },
    /// Set up an ElevenLabs agent for this service (needs `ELEVENLABS_API_KEY`).
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
}

#[derive(Debug, Subcommand)]
enum VoicesCommand {
    /// List our clones on the account, one line each.
    List,
    /// Run one sweep against the account and print what was (or would be) deleted and why.
    Sweep {
        /// Decide and print, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    // A `.env` next to the binary's working directory fills in what the environment lacks.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve { offline: false }) {
        Command::Serve { offline } => serve(offline),
        Command::Sign {
            secret,
            timestamp,
            file,
        } => sign(&secret, timestamp, &file),
        Command::Send {
            url,
            secret,
            sample,
            tone,
            name,
            agent,
            file,
        } => sample_audio(sample.as_deref(), tone).and_then(|audio| {
            send(
                &url,
                secret.as_deref(),
                audio.as_deref(),
                &name,
                &agent,
                file.as_deref(),
            )
        }),
        Command::Openapi => openapi(),
        Command::Healthcheck { url } => healthcheck(url),
        Command::Voices { command } => voices(command),
        Command::Agent { command } => agent::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    runtime_of(Flavor::for_this_process())
}

fn runtime_of(flavor: Flavor) -> anyhow::Result<tokio::runtime::Runtime> {
    flavor.build().context("cannot start the async runtime")
}

fn serve(offline: bool) -> anyhow::Result<()> {
    let config = Config::from_vars(|k| std::env::var(k).ok(), offline)
        .map_err(|errors| anyhow::anyhow!("invalid configuration:\n{errors}"))?;
    let _guard = telemetry::init(&config.log).context("cannot set up logging")?;
    let flavor = Flavor::for_this_process();
    runtime_of(flavor)?.block_on(async {
        let backends = if offline {
            Backends::offline(&config)
        } else {
            Backends::elevenlabs(&config)?
        };
        let app = Application::build(&config, backends).await?;
        let address = app.address();
        if offline {
            let secret_source =
                if std::env::var("ELEVENLABS_WEBHOOK_SECRET").is_ok_and(|v| !v.trim().is_empty()) {
                    "taken from ELEVENLABS_WEBHOOK_SECRET"
                } else {
                    "\"dev-secret\""
                };
            tracing::warn!(
                %address,
                "OFFLINE MODE: voices and agents are in-memory stand-ins, nothing reaches \
                 ElevenLabs; webhook secret is {secret_source}"
            );
        } else {
            tracing::info!(upstream = %config.api_base_url, "using ElevenLabs over HTTP");
        }
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        tracing::info!(%address, runtime = %flavor, "listening: POST /webhook, POST /webhook/post-call, GET /health, /docs, /openapi.json");
        app.run_until(startup::shutdown_signal()).await;
        tracing::info!("stopped");
        Ok(())
    })
}

fn secret(value: &str) -> anyhow::Result<WebhookSecret> {
    WebhookSecret::new(SecretString::from(value.to_owned())).context("the secret must not be empty")
}

fn sign(secret_value: &str, timestamp: Option<i64>, file: &Path) -> anyhow::Result<()> {
    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let timestamp = timestamp.unwrap_or_else(|| SystemClock.now_unix());
    println!("{}", secret(secret_value)?.sign(timestamp, &body));
    Ok(())
}

/// Builds a JSON pre-call payload around an audio file.
pub fn payload_for_sample(audio: &[u8], name: &str, agent: &str, conversation_id: &str) -> Vec<u8> {
    let payload = serde_json::json!({
        "type": "pre_call",
        "event_timestamp": SystemClock.now_unix(),
        "conversation_id": conversation_id,
        "agent_id": agent,
        "caller_metadata": {"name": name},
        "voice_sample": {
            "format": "base64",
            "data": base64::engine::general_purpose::STANDARD.encode(audio),
        },
    });
    payload.to_string().into_bytes()
}

/// The audio for `send`: a file, a generated tone, or none (a payload file is sent instead).
fn sample_audio(sample: Option<&Path>, tone: Option<f64>) -> anyhow::Result<Option<Vec<u8>>> {
    match (sample, tone) {
        (Some(path), _) => std::fs::read(path)
            .map(Some)
            .with_context(|| format!("cannot read {}", path.display())),
        (None, Some(seconds)) => Ok(Some(super::tone::wav(seconds, 16_000))),
        (None, None) => Ok(None),
    }
}

fn send(
    url: &str,
    secret_value: Option<&str>,
    audio: Option<&[u8]>,
    name: &str,
    agent: &str,
    file: Option<&Path>,
) -> anyhow::Result<()> {
    let body = match (audio, file) {
        (Some(audio), _) => {
            let conversation_id = format!("conv_cli_{}", uuid::Uuid::new_v4().simple());
            payload_for_sample(audio, name, agent, &conversation_id)
        }
        (None, Some(file)) => {
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
        }
        (None, None) => bail!("give a payload FILE, --sample AUDIO or --tone SECONDS"),
    };
    let signature =
        secret(secret_value.unwrap_or(OFFLINE_WEBHOOK_SECRET))?.sign(SystemClock.now_unix(), &body);
    runtime()?.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let text = response.text().await.context("cannot read the response")?;
        let pretty = serde_json::from_str::<serde_json::Value>(&text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or(text);
        println!("HTTP {status}\n{pretty}");
        if status.is_success() {
            Ok(())
        } else {
            bail!("the webhook was refused ({status})")
        }
    })
}

fn openapi() -> anyhow::Result<()> {
    let config = Config::from_vars(|_| None, true).map_err(|e| anyhow::anyhow!("{e}"))?;
    let api = startup::build_api(&config, Backends::offline(&config))?;
    println!("{}", http::spec_json(api));
    Ok(())
}

fn healthcheck(url: Option<String>) -> anyhow::Result<()> {
    let url = url.unwrap_or_else(|| {
        let port = std::env::var("PRECALL_WEBHOOK_PORT").unwrap_or_else(|_| "3005".into());
        format!("http://127.0.0.1:{}/health", port.trim())
    });
    runtime()?.block_on(async {
        let response = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            bail!("{url} answered {}", response.status())
        }
    })
}

/// The note `voices sweep` prints without `REDIS_URL`: this process's registry starts empty.
const FRESH_REGISTRY_NOTE: &str = "note: this process's registry is empty, so every clone counts \
     as unknown to it (an orphan to the sweep, deleted when older than \
     VOICE_ORPHAN_GRACE_SECONDS and no agent speaks with it); with REDIS_URL it reads the \
     replicas' shared registry instead";

fn voices(command: VoicesCommand) -> anyhow::Result<()> {
    // Read as for `serve --offline` (no webhook secret needed here); the API key is required
    // below. Nothing is stored on disk.
    let mut config = Config::from_vars(|k| std::env::var(k).ok(), true)
        .map_err(|errors| anyhow::anyhow!("invalid configuration:\n{errors}"))?;
    config.storage_enabled = false;
    runtime()?.block_on(async {
        let backends = Backends::elevenlabs(&config)?;
        let now = backends.clock.now_unix();
        let services = startup::build_services(&config, backends)?;
        match command {
            VoicesCommand::List => {
                let items = services.sweep.inventory().await?;
                println!(
                    "{} voice(s) of ours (owner label \"{}\") on the account",
                    items.len(),
                    config.lifecycle.owner_tag
                );
                for item in &items {
                    println!("{}", inventory_line(item, now));
                }
            }
            VoicesCommand::Sweep { dry_run } => {
                let report = services.sweep.run(dry_run).await?;
                print!("{}", sweep_lines(&report));
                if config.redis_url.is_none() {
                    println!("{FRESH_REGISTRY_NOTE}");
                }
            }
        }
        Ok(())
    })
}

fn inventory_line(item: &InventoryItem, now: i64) -> String {
    let voice = &item.voice;
    let label = |value: Option<String>| value.unwrap_or_else(|| "-".into());
    let age = voice
        .created_at_unix
        .map_or_else(|| "unknown".into(), |at| human_age(now - at));
    let registry = match &item.entry {
        None => "unknown to this process".to_owned(),
        Some(entry) => match &entry.state {
            VoiceState::Live => format!("live, last used {} ago", human_age(now - entry.last_used)),
            VoiceState::InCall { call, since } => {
                format!("in call {call} for {}", human_age(now - since))
            }
        },
    };
    format!(
        "{}  \"{}\"  conversation={}  agent={}  age={}  registry: {}",
        voice.voice_id,
        voice.name,
        label(voice.conversation_id.as_ref().map(ToString::to_string)),
        label(voice.agent_id.as_ref().map(ToString::to_string)),
        age,
        registry
    )
}

fn sweep_lines(report: &SweepReport) -> String {
    let mut out = String::new();
    if report.dry_run {
        out.push_str("dry run: nothing is changed\n");
    }
    for voice in &report.voices {
        let name = voice
            .name
            .as_ref()
            .map_or_else(String::new, |n| format!("  \"{n}\""));
        let note = voice
            .note
            .as_ref()
            .map_or_else(String::new, |n| format!("  ({n})"));
        out.push_str(&format!(
            "{:<12}  {}{}  reason={}{}\n",
            voice.action.as_str(),
            voice.voice_id,
            name,
            voice.reason,
            note
        ));
    }
    let verb = if report.dry_run {
        SweepAction::WouldDelete
    } else {
        SweepAction::Deleted
    };
    let counts: Vec<String> = report
        .removed_per_reason()
        .iter()
        .map(|(reason, n)| format!("{reason}={n}"))
        .collect();
    let kept = report.voices.len() - report.removed().len();
    out.push_str(&format!(
        "{} of ours listed; {}: {}; kept: {kept}\n",
        report.listed,
        verb.as_str(),
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    ));
    out
}

/// `seconds` as `45s`, `12m`, `3h05m` or `2d04h`.
fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3_600),
    }
}
