//! `POST /webhook` with a JSON body: what the service does for a valid pre-call webhook.

use serde_json::{Value, json};

use crate::helpers::{
    FIXED_NOW, TestApp, assert_error, assert_ivan_personalised, body_of, json_payload, metadata,
    spawn_app, spawn_app_with, status_and_json, wav,
};

#[tokio::test]
async fn clones_the_callers_voice_and_personalises_the_agent() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);

    let response = app
        .post_json(&body_of(&json_payload("conv_abc123xyz", Some(&sample))))
        .await;

    assert_ivan_personalised(&app, response, "conv_abc123xyz", &sample).await;
}

#[tokio::test]
async fn accepts_json_with_a_charset_parameter() {
    let app = spawn_app().await;
    let sample = wav(5.0, 16_000);
    let body = body_of(&json_payload("conv_charset", Some(&sample)));

    let response = app
        .post_raw(
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("elevenlabs-signature", &app.sign(&body)),
            ],
            body,
        )
        .await;

    assert_ivan_personalised(&app, response, "conv_charset", &sample).await;
}

#[tokio::test]
async fn names_the_voice_after_the_caller_and_the_utc_time_of_the_call() {
    let app = TestApp::builder().clock_at(FIXED_NOW).spawn().await;
    let mut payload = json_payload("conv_named", Some(&wav(5.0, 16_000)));
    payload["caller_metadata"]["name"] = json!("Jan-Willem de Vries");

    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["voice_name"],
        "Jan_Willem_de_Vries_Clone_20251210_123456"
    );
    assert_eq!(
        app.cloner.clones()[0].name,
        "Jan_Willem_de_Vries_Clone_20251210_123456"
    );
}

#[tokio::test]
async fn without_a_sample_only_the_greeting_is_set_and_the_voice_fields_are_null() {
    let app = spawn_app().await;

    let (status, body) =
        status_and_json(app.post_json(&body_of(&metadata("conv_nosample"))).await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["conversation_id"], "conv_nosample");
    for field in ["voice_id", "voice_name"] {
        assert_eq!(
            body.get(field),
            Some(&Value::Null),
            "{field} is present and null"
        );
    }
    assert_eq!(body["agent_updated"], true);
    assert_eq!(
        body["caller_info"],
        json!({"Name": "Ivan", "DateOfBirth": "11.12.2007"})
    );
    assert_eq!(app.cloner.clones(), vec![], "nothing to clone");
    let updates = app.agents.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].update.voice_id, None,
        "no voice without a sample"
    );
    assert_eq!(
        updates[0].update.first_message.as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
}

#[tokio::test]
async fn without_a_name_the_voice_is_named_caller_and_the_greeting_is_left_alone() {
    let app = spawn_app().await;
    let mut payload = json_payload("conv_noname", Some(&wav(5.0, 16_000)));
    payload.as_object_mut().unwrap().remove("caller_metadata");

    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;

    assert_eq!(status, 200, "{body}");
    let voice_name = body["voice_name"].as_str().unwrap();
    assert!(voice_name.starts_with("Caller_Clone_"), "{voice_name}");
    assert_eq!(body["agent_updated"], true);
    assert_eq!(body["caller_info"], json!({}));
    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 1);
    let updates = app.agents.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].update.voice_id.as_ref(),
        Some(&clones[0].voice_id)
    );
    assert_eq!(
        updates[0].update.first_message, None,
        "the template needs a name"
    );
}

#[tokio::test]
async fn without_a_sample_or_a_name_the_agent_is_not_touched() {
    let app = spawn_app().await;
    let payload =
        json!({"type": "pre_call", "conversation_id": "conv_bare", "agent_id": "agent_1"});

    let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent_updated"], false);
    assert_eq!(body["voice_id"], Value::Null);
    assert_eq!(body["voice_name"], Value::Null);
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn greets_the_caller_with_the_configured_template() {
    let app = spawn_app_with(&[("DEFAULT_FIRST_MESSAGE", "Welkom terug, {name}!")]).await;

    let response = app.post_json(&body_of(&metadata("conv_template"))).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        app.agents.updates()[0].update.first_message.as_deref(),
        Some("Welkom terug, Ivan!")
    );
}

#[tokio::test]
async fn measures_the_duration_instead_of_trusting_the_senders_claim() {
    let app = spawn_app().await;
    // The payload claims 5.2 s; the audio is 1 s.
    let payload = json_payload("conv_claims", Some(&wav(1.0, 16_000)));
    assert_eq!(payload["voice_sample"]["duration_seconds"], 5.2);

    let message = assert_error(
        app.post_json(&body_of(&payload)).await,
        400,
        "INVALID_VOICE_SAMPLE",
        Some("conv_claims"),
    )
    .await;

    assert_eq!(message, "Voice sample too short: 1.0 s (min 3.0 s)");
    app.assert_nothing_reached_elevenlabs();
}
