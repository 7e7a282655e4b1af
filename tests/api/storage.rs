//! `ENABLE_VOICE_SAMPLE_STORAGE`: samples are written under `VOICE_SAMPLE_STORAGE_PATH`
//! atomically, privately (0600), under a name the service makes; nothing is written when off.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use precall_webhook::ports::UpstreamError;
use tempfile::TempDir;

use crate::helpers::{
    TestApp, assert_ivan_personalised, body_of, fixture, json_payload, metadata, wav,
};

/// A server keeping samples in a directory that does not exist yet (it creates it).
async fn app_storing_samples() -> (TestApp, TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let directory = root.path().join("voice_samples");
    let app = TestApp::builder()
        .var("ENABLE_VOICE_SAMPLE_STORAGE", "true")
        .var("VOICE_SAMPLE_STORAGE_PATH", directory.to_str().unwrap())
        .spawn()
        .await;
    (app, root, directory)
}

/// The names of every entry in `directory`, hidden ones included.
fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn keeps_the_exact_sample_in_one_private_file_named_by_the_service() {
    let (app, _root, directory) = app_storing_samples().await;
    let sample = wav(5.0, 16_000);

    let response = app
        .post_json(&body_of(&json_payload("conv_stored_42", Some(&sample))))
        .await;
    assert_ivan_personalised(&app, response, "conv_stored_42", &sample).await;

    let names = entries(&directory);
    assert_eq!(
        names.len(),
        1,
        "one file and no temporary leftovers: {names:?}"
    );
    let name = &names[0];
    assert!(!name.starts_with('.'), "not a temporary file: {name}");
    assert!(
        !name.contains("conv_stored_42"),
        "no request text in the name: {name}"
    );
    assert!(name.ends_with(".wav"), "{name}");
    let path = directory.join(name);
    assert!(std::fs::read(&path).unwrap() == sample, "the exact bytes");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "readable by the service's user only");
}

#[tokio::test]
async fn names_the_stored_file_after_the_format_measured_from_the_bytes() {
    let (app, _root, directory) = app_storing_samples().await;
    let sample = fixture("voice_5s_xing_id3.mp3");

    let response = app
        .post_multipart(&metadata("conv_stored_mp3"), Some(&sample))
        .await;
    assert_eq!(response.status(), 200);

    let names = entries(&directory);
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].ends_with(".mp3"), "{names:?}");
}

#[tokio::test]
async fn keeps_the_sample_even_when_the_clone_fails() {
    let (app, _root, directory) = app_storing_samples().await;
    app.cloner
        .fail_clones_with(Some(UpstreamError::Refused("voice_limit_reached".into())));

    let response = app
        .post_json(&body_of(&json_payload(
            "conv_kept",
            Some(&wav(5.0, 16_000)),
        )))
        .await;

    assert_eq!(response.status(), 422);
    assert_eq!(entries(&directory).len(), 1);
}

#[tokio::test]
async fn stores_nothing_for_a_refused_sample() {
    let (app, _root, directory) = app_storing_samples().await;

    let response = app
        .post_json(&body_of(&json_payload(
            "conv_short",
            Some(&wav(1.0, 16_000)),
        )))
        .await;

    assert_eq!(response.status(), 400);
    assert_eq!(entries(&directory), Vec::<String>::new());
}

#[tokio::test]
async fn writes_nothing_when_storage_is_off() {
    let root = tempfile::tempdir().unwrap();
    let directory = root.path().join("voice_samples");
    let app = TestApp::builder()
        .var("ENABLE_VOICE_SAMPLE_STORAGE", "false")
        .var("VOICE_SAMPLE_STORAGE_PATH", directory.to_str().unwrap())
        .spawn()
        .await;
    let sample = wav(5.0, 16_000);

    let response = app
        .post_json(&body_of(&json_payload("conv_not_stored", Some(&sample))))
        .await;
    assert_ivan_personalised(&app, response, "conv_not_stored", &sample).await;

    assert!(
        !directory.exists(),
        "the storage directory is not even created"
    );
    assert_eq!(entries(root.path()), Vec::<String>::new());
}
