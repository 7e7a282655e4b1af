//! `precall-webhook agent enable-overrides AGENT_ID` against the stateful fake account: it
//! PATCHes exactly the three override permissions, reads the agent back, and exits 0 only when
//! the account really has them — a PATCH answered 200 whose settings were dropped is caught.

use std::process::Output;

use serde_json::{Value, json};

use crate::cli::{run, stderr, stdout};
use crate::fake_elevenlabs::{Answer, FakeElevenLabs, Fault, Route};
use crate::helpers::{ELEVENLABS_API_KEY, NothingListens};

const AGENT: &str = "agent_support";
const WEBHOOK: &str = "enable_conversation_initiation_client_data_from_webhook";
const VOICE: &str = "conversation_config_override.tts.voice_id";
const GREETING: &str = "conversation_config_override.agent.first_message";

/// The one PATCH body the command sends.
fn the_patch() -> Value {
    json!({"platform_settings": {"overrides": {
        "enable_conversation_initiation_client_data_from_webhook": true,
        "conversation_config_override": {
            "tts": {"voice_id": true},
            "agent": {"first_message": true}
        }
    }}})
}

fn leak(value: String) -> &'static str {
    Box::leak(value.into_boxed_str())
}

/// Runs `agent enable-overrides agent_id` against `base_url` with `api_key`, no retries.
async fn enable_at(base_url: String, api_key: &'static str, agent_id: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        vec!["agent".into(), "enable-overrides".into(), agent_id.into()],
        vec![
            ("ELEVENLABS_API_KEY", api_key),
            ("ELEVENLABS_API_BASE_URL", leak(base_url)),
            ("ELEVENLABS_MAX_RETRIES", "0"),
        ],
    )
    .await
}

async fn enable(fake: &FakeElevenLabs, agent_id: &str) -> Output {
    enable_at(fake.uri(), ELEVENLABS_API_KEY, agent_id).await
}

/// The status line the command prints for permission `name`, if any.
fn line_for<'a>(out: &'a str, name: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.trim_end().ends_with(&format!(" {name}")))
}

fn both(output: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output))
}

#[tokio::test]
async fn it_turns_the_three_permissions_on_confirms_them_and_exits_0() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");

    let output = enable(&fake, AGENT).await;

    assert!(output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    for name in [WEBHOOK, VOICE, GREETING] {
        let line = line_for(&out, name).unwrap_or_else(|| panic!("no line for {name}: {out}"));
        assert!(line.trim_start().starts_with("on "), "{line}");
    }
    assert!(out.contains("all 3 on"), "{out}");
    // The account: exactly one PATCH, exactly that body, and the agent has the permissions,
    // its other settings untouched.
    assert_eq!(fake.agent_patches(AGENT), [the_patch()]);
    assert_eq!(
        fake.agent_overrides(AGENT),
        Some(json!({
            "enable_conversation_initiation_client_data_from_webhook": true,
            "conversation_config_override": {
                "tts": {"voice_id": true},
                "agent": {"first_message": true, "language": false}
            }
        }))
    );
    assert_eq!(fake.agent_voice_id(AGENT).as_deref(), Some("premade_voice"));
    assert_eq!(fake.agent_first_message(AGENT).as_deref(), Some("Hello!"));
    assert_eq!(fake.request_count(Route::PatchAgent), 1);
    assert_eq!(fake.request_count(Route::GetAgent), 1, "read back once");
    fake.assert_every_request_succeeded();
    assert!(
        !both(&output).contains(ELEVENLABS_API_KEY),
        "no secret printed"
    );
}

#[tokio::test]
async fn running_it_again_changes_nothing_more_and_still_exits_0() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    assert!(enable(&fake, AGENT).await.status.success());
    let after_first = fake.agent(AGENT);

    let output = enable(&fake, AGENT).await;

    assert!(output.status.success(), "{}", both(&output));
    assert_eq!(fake.agent(AGENT), after_first);
    assert_eq!(fake.agent_patches(AGENT), [the_patch(), the_patch()]);
}

#[tokio::test]
async fn overrides_dropped_silently_fail_and_every_missing_permission_is_named() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    let before = fake.agent_overrides(AGENT);
    fake.on(Route::PatchAgent)
        .next(Fault::drop_silently("/platform_settings/overrides"));

    let output = enable(&fake, AGENT).await;

    assert!(!output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    for name in [WEBHOOK, VOICE, GREETING] {
        let line = line_for(&out, name).unwrap_or_else(|| panic!("no line for {name}: {out}"));
        assert!(line.trim_start().starts_with("OFF"), "{line}");
    }
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("did not keep 3 of 3"), "{err}");
    for name in [WEBHOOK, VOICE, GREETING] {
        assert!(err.contains(name), "{name} named: {err}");
    }
    // The PATCH was the right one; the account dropped it.
    assert_eq!(fake.agent_patches(AGENT), [the_patch()]);
    assert_eq!(fake.agent_overrides(AGENT), before);
    assert_eq!(fake.request_count(Route::GetAgent), 1);
}

#[tokio::test]
async fn one_dropped_permission_is_named_alone() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    fake.on(Route::PatchAgent).next(Fault::drop_silently(
        "/platform_settings/overrides/conversation_config_override/tts",
    ));

    let output = enable(&fake, AGENT).await;

    assert!(!output.status.success(), "{}", both(&output));
    let out = stdout(&output);
    assert!(
        line_for(&out, VOICE).is_some_and(|l| l.trim_start().starts_with("OFF")),
        "{out}"
    );
    for kept in [WEBHOOK, GREETING] {
        assert!(
            line_for(&out, kept).is_some_and(|l| l.trim_start().starts_with("on ")),
            "{out}"
        );
    }
    let err = stderr(&output);
    assert!(err.contains("did not keep 1 of 3"), "{err}");
    assert!(err.contains(VOICE), "{err}");
    assert!(!err.contains(WEBHOOK) && !err.contains(GREETING), "{err}");
}

#[tokio::test]
async fn an_unknown_agent_is_one_clear_line_and_a_failure() {
    let fake = FakeElevenLabs::start().await;

    let output = enable(&fake, "agent_nobody").await;

    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: agent agent_nobody: cannot enable the overrides"),
        "{err}"
    );
    assert!(
        err.contains("Agent with id agent_nobody was not found"),
        "{err}"
    );
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert_eq!(
        fake.request_count(Route::GetAgent),
        0,
        "nothing to read back"
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_one_line_that_names_the_variable_not_the_key() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    let wrong = "sk_wrong_key_MUST_NOT_BE_PRINTED";

    let output = enable_at(fake.uri(), wrong, AGENT).await;

    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ELEVENLABS_API_KEY"), "{err}");
    assert!(err.contains("invalid_api_key"), "{err}");
    assert!(!both(&output).contains(wrong), "{}", both(&output));
    assert!(fake.agent_patches(AGENT).is_empty());
}

#[tokio::test]
async fn an_unreachable_elevenlabs_is_one_clear_line_and_a_failure() {
    let nothing = NothingListens::new();

    let output = enable_at(nothing.url(), ELEVENLABS_API_KEY, AGENT).await;

    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("could not be reached"), "{err}");
}

#[tokio::test]
async fn an_update_whose_answer_is_lost_is_settled_by_the_read_back() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    fake.on(Route::PatchAgent)
        .next(Fault::act_then(Answer::status(503)));

    let output = enable(&fake, AGENT).await;

    assert!(output.status.success(), "{}", both(&output));
    assert!(
        stderr(&output).contains("did not confirm"),
        "{}",
        both(&output)
    );
    assert!(stdout(&output).contains("all 3 on"), "{}", both(&output));
}

#[tokio::test]
async fn an_agent_id_that_could_not_be_one_is_refused_before_any_call() {
    let fake = FakeElevenLabs::start().await;

    let output = enable(&fake, "../voices/x").await;

    assert!(!output.status.success());
    assert!(stderr(&output).contains("AGENT_ID"), "{}", stderr(&output));
    assert!(fake.requests().is_empty());
}
