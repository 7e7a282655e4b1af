//! Keeping samples is a convenience for the operator: when the disk fails after start-up, the
//! webhook still answers `200` and the clone and the agent update still happen.
//!
//! The storage directory is broken after start by removing it or replacing it with a plain
//! file; permissions would not do, as the tests may run as root, who writes anywhere.

use std::path::PathBuf;

use tempfile::TempDir;

use crate::helpers::{TestApp, assert_ivan_personalised, body_of, json_payload, wav};

/// A server keeping samples in a directory it created at start-up.
async fn app_storing_samples() -> (TestApp, TempDir, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let directory = root.path().join("voice_samples");
    // Every webhook here is Ivan ringing again; reuse is not what this test is about.
    let app = TestApp::builder()
        .var("VOICE_REUSE_MAX_AGE_SECONDS", "0")
        .var("ENABLE_VOICE_SAMPLE_STORAGE", "true")
        .var("VOICE_SAMPLE_STORAGE_PATH", directory.to_str().unwrap())
        .spawn()
        .await;
    assert!(directory.is_dir(), "created at start-up");
    (app, root, directory)
}

#[tokio::test]
async fn a_storage_directory_replaced_by_a_file_does_not_fail_the_call() {
    let (app, _root, directory) = app_storing_samples().await;
    std::fs::remove_dir_all(&directory).unwrap();
    std::fs::write(&directory, b"not a directory").unwrap();
    let sample = wav(5.0, 16_000);

    let response = app
        .post_json(&body_of(&json_payload("conv_disk_is_file", Some(&sample))))
        .await;

    assert_ivan_personalised(&app, response, "conv_disk_is_file", &sample).await;
    assert_eq!(
        std::fs::read(&directory).unwrap(),
        b"not a directory",
        "the file in the way is left alone"
    );
}

#[tokio::test]
async fn a_storage_directory_removed_after_start_does_not_fail_the_call() {
    let (app, _root, directory) = app_storing_samples().await;
    std::fs::remove_dir_all(&directory).unwrap();
    let sample = wav(5.0, 16_000);

    let response = app
        .post_json(&body_of(&json_payload("conv_disk_gone", Some(&sample))))
        .await;

    assert_ivan_personalised(&app, response, "conv_disk_gone", &sample).await;
}

#[tokio::test]
async fn a_storage_failure_does_not_fail_the_next_calls_either() {
    let (app, _root, directory) = app_storing_samples().await;
    std::fs::remove_dir_all(&directory).unwrap();
    let sample = wav(5.0, 16_000);

    for i in 0..3 {
        let response = app
            .post_json(&body_of(&json_payload(
                &format!("conv_disk_gone_{i}"),
                Some(&sample),
            )))
            .await;
        assert_eq!(response.status(), 200);
    }

    assert_eq!(app.cloner.clones().len(), 3);
    assert_eq!(app.agents.updates().len(), 3);
}
