//! `agent enable-overrides AGENT_ID`: allows, once per agent, the per-call overrides the
//! conversation-initiation webhook needs, then reads the agent back and says what it found —
//! ElevenLabs has been seen to accept such a change and keep nothing.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use clap::Subcommand;

use crate::app::config::Config;
use crate::app::startup::Backends;
use crate::domain::AgentId;
use crate::ports::{OverridePermissions, UpstreamError};

/// Time for each of the two calls, retries included.
const CALL_BUDGET: Duration = Duration::from_secs(30);

/// The `agent` subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum AgentCommand {
    /// Allow per-call overrides on an agent (the conversation-initiation webhook, the voice,
    /// the first message), then read the agent back; exits 0 only when all three are on.
    EnableOverrides {
        /// The ElevenLabs agent id.
        agent_id: String,
    },
}

/// Runs an `agent` subcommand.
pub(super) fn run(command: AgentCommand) -> anyhow::Result<()> {
    match command {
        AgentCommand::EnableOverrides { agent_id } => enable_overrides(agent_id),
    }
}

fn enable_overrides(agent_id: String) -> anyhow::Result<()> {
    let agent_id = AgentId::parse(agent_id).context("AGENT_ID")?;
    // Read as for `serve --offline` (no webhook secret needed); `Backends::elevenlabs` insists
    // on the API key.
    let config = Config::from_vars(|k| std::env::var(k).ok(), true)
        .map_err(|errors| anyhow!("invalid configuration:\n{errors}"))?;
    super::runtime()?.block_on(async {
        let agents = Backends::elevenlabs(&config)?.agents;
        match agents
            .enable_override_permissions(&agent_id, Instant::now() + CALL_BUDGET)
            .await
        {
            Ok(()) => {}
            // It may have been applied: the read-back below tells.
            Err(error @ UpstreamError::Uncertain { .. }) => {
                eprintln!("note: ElevenLabs did not confirm the update ({error}); reading back");
            }
            Err(error) => return Err(upstream(&agent_id, "enable the overrides", &error)),
        }
        let permissions = agents
            .read_override_permissions(&agent_id, Instant::now() + CALL_BUDGET)
            .await
            .map_err(|error| upstream(&agent_id, "read the agent back", &error))?;
        print!("{}", report(&agent_id, permissions));
        let missing = missing(permissions);
        if missing.is_empty() {
            return Ok(());
        }
        Err(anyhow!(
            "agent {agent_id}: ElevenLabs did not keep {} of 3 override permissions: {}; run \
             this again, or turn them on in the agent's Security settings on elevenlabs.io",
            missing.len(),
            missing.join(", ")
        ))
    })
}

/// The three permissions, as ElevenLabs names them under `platform_settings.overrides`.
fn named(permissions: OverridePermissions) -> [(&'static str, bool); 3] {
    [
        (
            "enable_conversation_initiation_client_data_from_webhook",
            permissions.initiation_webhook,
        ),
        (
            "conversation_config_override.tts.voice_id",
            permissions.voice_id,
        ),
        (
            "conversation_config_override.agent.first_message",
            permissions.first_message,
        ),
    ]
}

fn missing(permissions: OverridePermissions) -> Vec<&'static str> {
    named(permissions)
        .into_iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| name)
        .collect()
}

/// What the read-back found: one line per permission, then the verdict.
fn report(agent_id: &AgentId, permissions: OverridePermissions) -> String {
    let mut out = format!(
        "agent {agent_id}: override permissions (platform_settings.overrides), read back\n"
    );
    for (name, on) in named(permissions) {
        out.push_str(&format!("  {:<3}  {name}\n", if on { "on" } else { "OFF" }));
    }
    if permissions.all_on() {
        out.push_str(
            "all 3 on: the conversation-initiation webhook may set each call's voice and first \
             message\n",
        );
    } else {
        out.push_str(&format!("{} of 3 on\n", 3 - missing(permissions).len()));
    }
    out
}

/// One line saying what failed and why, in the operator's terms; the reason is ElevenLabs'.
fn upstream(agent_id: &AgentId, step: &str, error: &UpstreamError) -> anyhow::Error {
    let why = match error {
        UpstreamError::InvalidRequest(_) => "ElevenLabs refused it (is the agent id right?)",
        UpstreamError::Refused(_) | UpstreamError::VoiceLimitReached(_) => {
            "ElevenLabs refused the account (check ELEVENLABS_API_KEY and that it may write \
             Conversational AI agents)"
        }
        UpstreamError::Unavailable(_) | UpstreamError::OutOfTime(_) => {
            "ElevenLabs could not be reached (check ELEVENLABS_API_BASE_URL and the network)"
        }
        UpstreamError::Uncertain { .. } => "ElevenLabs kept failing",
        UpstreamError::Busy(_) => "held back",
    };
    anyhow!("agent {agent_id}: cannot {step}: {why}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> AgentId {
        AgentId::parse("agent_1").unwrap()
    }

    #[test]
    fn the_report_lists_each_permission_and_says_all_three_are_on() {
        let text = report(&agent(), OverridePermissions::ALL);

        assert_eq!(
            text,
            "agent agent_1: override permissions (platform_settings.overrides), read back\n  \
             on   enable_conversation_initiation_client_data_from_webhook\n  \
             on   conversation_config_override.tts.voice_id\n  \
             on   conversation_config_override.agent.first_message\n\
             all 3 on: the conversation-initiation webhook may set each call's voice and first \
             message\n"
        );
    }

    #[test]
    fn a_permission_that_is_off_is_marked_and_named_as_missing() {
        let permissions = OverridePermissions {
            voice_id: false,
            ..OverridePermissions::ALL
        };

        let text = report(&agent(), permissions);

        assert!(
            text.contains("  OFF  conversation_config_override.tts.voice_id\n"),
            "{text}"
        );
        assert!(text.ends_with("2 of 3 on\n"), "{text}");
        assert_eq!(
            missing(permissions),
            ["conversation_config_override.tts.voice_id"]
        );
    }

    #[test]
    fn upstream_failures_are_one_line_naming_the_agent_the_step_and_the_reason() {
        let error = upstream(
            &agent(),
            "enable the overrides",
            &UpstreamError::InvalidRequest(
                "agent_not_found: Agent with id agent_1 was not found.".into(),
            ),
        );

        let text = format!("{error:#}");

        assert_eq!(
            text,
            "agent agent_1: cannot enable the overrides: ElevenLabs refused it (is the agent id \
             right?): agent_not_found: Agent with id agent_1 was not found."
        );
        assert!(!text.contains('\n'));
    }
}
