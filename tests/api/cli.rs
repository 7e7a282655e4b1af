//! The `precall-webhook` binary: `sign`, `send`, `openapi`, and start-up refusing a bad
//! configuration (`agent enable-overrides` is in `agent_overrides`, on the same `run`). Each
//! run is in an empty directory (no `.env` is picked up) with no ElevenLabs variables inherited
//! from the environment.

use std::path::Path;
use std::process::{Command, Output};

use secrecy::SecretString;
use serde_json::Value;

use precall_webhook::domain::WebhookSecret;

use crate::helpers::{SECRET, fixture, spawn_app, status_and_json};

const BIN: &str = env!("CARGO_BIN_EXE_precall-webhook");

/// Runs the binary on the blocking pool, so the test's server keeps serving meanwhile.
pub(crate) async fn run(
    dir: &Path,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
) -> Output {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(BIN);
        command.args(&args).current_dir(&dir);
        for name in [
            "ELEVENLABS_API_KEY",
            "ELEVENLABS_WEBHOOK_SECRET",
            "PRECALL_WEBHOOK_PORT",
            "LOG_DIR",
            "http_proxy",
            "HTTP_PROXY",
            "all_proxy",
            "ALL_PROXY",
        ] {
            command.env_remove(name);
        }
        command.envs(env);
        command.output().expect("the binary runs")
    })
    .await
    .unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn sign_prints_a_header_that_verifies_for_that_body_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let body = br#"{"type":"pre_call","conversation_id":"conv_cli","agent_id":"agent_1"}"#;
    let file = dir.path().join("body.json");
    std::fs::write(&file, body).unwrap();
    let t: i64 = 1_702_425_485;

    let output = run(
        dir.path(),
        vec![
            "sign".into(),
            "--secret".into(),
            "cli-secret".into(),
            "--timestamp".into(),
            t.to_string(),
            file.to_str().unwrap().into(),
        ],
        vec![],
    )
    .await;

    assert!(output.status.success(), "{}", stderr(&output));
    let header = stdout(&output).trim().to_owned();
    assert!(header.starts_with(&format!("t={t},v0=")), "{header}");
    let secret = WebhookSecret::new(SecretString::from("cli-secret")).unwrap();
    assert_eq!(secret.verify(Some(&header), body, t), Ok(()));
    assert!(
        secret.verify(Some(&header), b"{}", t).is_err(),
        "another body fails"
    );
    let other = WebhookSecret::new(SecretString::from("other")).unwrap();
    assert!(
        other.verify(Some(&header), body, t).is_err(),
        "another secret fails"
    );
}

#[tokio::test]
async fn send_posts_a_signed_webhook_built_around_a_sample() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/voice_5s.wav");

    let output = run(
        dir.path(),
        vec![
            "send".into(),
            "--sample".into(),
            sample.to_str().unwrap().into(),
            "--url".into(),
            app.url("/webhook"),
            "--secret".into(),
            SECRET.into(),
        ],
        vec![],
    )
    .await;

    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(&output),
        stderr(&output)
    );
    assert!(stdout(&output).contains("HTTP 200"), "{}", stdout(&output));
    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 1);
    assert!(clones[0].bytes == fixture("voice_5s.wav"));
    assert_eq!(clones[0].agent_id.as_str(), "agent_demo");
}

#[tokio::test]
async fn send_with_the_wrong_secret_fails_and_shows_the_401() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audio/voice_5s.wav");

    let output = run(
        dir.path(),
        vec![
            "send".into(),
            "--sample".into(),
            sample.to_str().unwrap().into(),
            "--url".into(),
            app.url("/webhook"),
            "--secret".into(),
            "not-the-secret".into(),
        ],
        vec![],
    )
    .await;

    assert!(!output.status.success());
    assert!(stdout(&output).contains("HTTP 401"), "{}", stdout(&output));
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn openapi_prints_the_spec_the_server_serves() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, served) = status_and_json(app.get("/openapi.json").await).await;

    let output = run(dir.path(), vec!["openapi".into()], vec![]).await;

    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert!(
        printed == served,
        "`openapi` prints what /openapi.json serves"
    );
}

#[tokio::test]
async fn serve_refuses_a_bad_configuration_with_one_line_per_variable() {
    let dir = tempfile::tempdir().unwrap();

    let output = run(
        dir.path(),
        vec!["serve".into(), "--offline".into()],
        vec![
            ("PRECALL_WEBHOOK_PORT", "abc"),
            ("VOICE_CLONE_MIN_DURATION", "-1"),
            ("ELEVENLABS_WEBHOOK_SECRET", "whsec_must_not_leak"),
        ],
    )
    .await;

    assert!(!output.status.success(), "it must not start");
    let stderr = stderr(&output);
    let port_lines = stderr
        .lines()
        .filter(|l| l.starts_with("PRECALL_WEBHOOK_PORT:"))
        .count();
    let duration_lines = stderr
        .lines()
        .filter(|l| l.starts_with("VOICE_CLONE_MIN_DURATION:"))
        .count();
    assert_eq!((port_lines, duration_lines), (1, 1), "{stderr}");
    assert!(!stderr.contains("whsec_must_not_leak"), "{stderr}");
    assert!(!stdout(&output).contains("whsec_must_not_leak"));
}

#[tokio::test]
async fn serve_without_offline_mode_requires_the_api_key_and_secret() {
    let dir = tempfile::tempdir().unwrap();

    let output = run(dir.path(), vec!["serve".into()], vec![]).await;

    assert!(!output.status.success(), "it must not start");
    let stderr = stderr(&output);
    assert!(
        stderr.contains("ELEVENLABS_API_KEY: required but not set"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ELEVENLABS_WEBHOOK_SECRET: required but not set"),
        "{stderr}"
    );
}

mod voices {
    //! `voices list` and `voices sweep` against the stateful fake account. A fresh process's
    //! registry knows no clone, so every clone of ours is an orphan to it.

    use crate::fake_elevenlabs::FakeElevenLabs;
    use crate::helpers::ELEVENLABS_API_KEY;

    use super::{run, stderr, stdout};

    const OURS: [(&str, &str); 2] = [("source", "precall-webhook"), ("owner", "precall-webhook")];

    fn leak(value: String) -> &'static str {
        Box::leak(value.into_boxed_str())
    }

    fn now_unix() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// One of our clones made for `agent`, `age` seconds old.
    fn our_clone(fake: &FakeElevenLabs, agent: &str, conversation: &str, age: i64) -> String {
        fake.set_now_unix(now_unix() - age);
        let mut labels = OURS.to_vec();
        labels.extend([("agent_id", agent), ("conversation_id", conversation)]);
        fake.add_foreign_voice("Ivan 2026-12-02 10:00", &labels)
    }

    async fn voices(fake: &FakeElevenLabs, args: &[&str]) -> std::process::Output {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec!["voices".to_owned()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        run(
            dir.path(),
            all,
            vec![
                ("ELEVENLABS_API_KEY", ELEVENLABS_API_KEY),
                ("ELEVENLABS_API_BASE_URL", leak(fake.uri())),
            ],
        )
        .await
    }

    #[tokio::test]
    async fn list_shows_our_clones_only_and_says_the_registry_does_not_know_them() {
        let fake = FakeElevenLabs::start().await;
        let ours = our_clone(&fake, "agent_list", "conv_list", 7_200);
        let foreign = fake.add_foreign_voice("Narrator", &[("use", "audiobooks")]);

        let output = voices(&fake, &["list"]).await;

        assert!(output.status.success(), "{}", stderr(&output));
        let out = stdout(&output);
        let line = out
            .lines()
            .find(|l| l.starts_with(&ours))
            .unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains("conversation=conv_list"), "{line}");
        assert!(line.contains("agent=agent_list"), "{line}");
        assert!(
            line.contains("age=2h00m") || line.contains("age=2h01m"),
            "{line}"
        );
        assert!(line.contains("unknown to this process"), "{line}");
        assert!(!out.contains(&foreign), "{out}");
    }

    #[tokio::test]
    async fn sweep_dry_run_says_what_it_would_delete_and_the_real_one_deletes_it() {
        let fake = FakeElevenLabs::start().await;
        let old = our_clone(&fake, "agent_free", "conv_old", 3_600);
        let young = our_clone(&fake, "agent_free", "conv_young", 10);
        let in_use = our_clone(&fake, "agent_busy", "conv_busy", 3_600);
        fake.add_agent("agent_busy", &in_use, "Hallo!");
        fake.add_agent("agent_free", "premade_voice", "Hallo!");
        let foreign = fake.add_foreign_voice("Narrator", &[("use", "audiobooks")]);

        let dry = voices(&fake, &["sweep", "--dry-run"]).await;

        assert!(dry.status.success(), "{}", stderr(&dry));
        let out = stdout(&dry);
        assert!(out.contains("dry run"), "{out}");
        assert!(
            out.lines().any(|l| l.starts_with("would delete")
                && l.contains(&old)
                && l.contains("reason=orphan")),
            "{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with("kept") && l.contains(&in_use)),
            "{out}"
        );
        assert_eq!(fake.voice_count(), 4, "a dry run deletes nothing");

        let real = voices(&fake, &["sweep"]).await;

        assert!(real.status.success(), "{}", stderr(&real));
        let out = stdout(&real);
        assert!(
            out.lines().any(|l| l.starts_with("deleted")
                && l.contains(&old)
                && l.contains("reason=orphan")),
            "{out}"
        );
        assert!(fake.voice(&old).is_none());
        for kept in [&young, &in_use, &foreign] {
            assert!(fake.voice(kept).is_some(), "{kept} kept: {out}");
        }
    }

    #[tokio::test]
    async fn voices_needs_the_api_key() {
        let dir = tempfile::tempdir().unwrap();
        let output = run(dir.path(), vec!["voices".into(), "list".into()], vec![]).await;
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("ELEVENLABS_API_KEY"),
            "{}",
            stderr(&output)
        );
    }
}
