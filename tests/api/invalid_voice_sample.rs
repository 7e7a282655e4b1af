//! `400 INVALID_VOICE_SAMPLE`: the sample is too short, too large, not audio or undecodable.
//! The message says which, the conversation id is echoed, and nothing reaches ElevenLabs.

use serde_json::json;

use crate::helpers::{
    Part, TestApp, assert_error, body_of, fixture, json_payload, metadata, spawn_app,
    spawn_app_with, wav,
};

/// Sends `sample` as JSON and as multipart; asserts both 400s and returns the message.
async fn refuse_sample(app: &TestApp, sample: &[u8]) -> String {
    let json = app
        .post_json(&body_of(&json_payload("conv_bad_sample", Some(sample))))
        .await;
    let json_message =
        assert_error(json, 400, "INVALID_VOICE_SAMPLE", Some("conv_bad_sample")).await;
    let form = app
        .post_multipart(&metadata("conv_bad_sample"), Some(sample))
        .await;
    let form_message =
        assert_error(form, 400, "INVALID_VOICE_SAMPLE", Some("conv_bad_sample")).await;
    assert_eq!(json_message, form_message, "both body kinds say the same");
    app.assert_nothing_reached_elevenlabs();
    json_message
}

#[tokio::test]
async fn rejects_a_one_second_sample_as_too_short() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &fixture("voice_1s.wav")).await;

    assert_eq!(message, "Voice sample too short: 1.0 s (min 3.0 s)");
}

#[tokio::test]
async fn rejects_a_sample_shorter_than_the_configured_minimum() {
    let app = spawn_app_with(&[("VOICE_CLONE_MIN_DURATION", "6")]).await;

    let message = refuse_sample(&app, &wav(5.0, 16_000)).await;

    assert_eq!(message, "Voice sample too short: 5.0 s (min 6.0 s)");
}

#[tokio::test]
async fn rejects_random_bytes_as_not_audio() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &fixture("random.bin")).await;

    assert_eq!(
        message,
        "Voice sample is not audio in a supported format (WAV, MP3, OGG Vorbis, FLAC)"
    );
}

#[tokio::test]
async fn rejects_a_text_file_named_wav_and_typed_audio_as_not_audio() {
    let app = spawn_app().await;
    let text = fixture("text.wav");
    let metadata = metadata("conv_text_wav").to_string();

    let response = app
        .post_form(&[
            Part::field("metadata", metadata.as_bytes()),
            Part::file("voice_sample", "text.wav", &text).typed("audio/wav"),
        ])
        .await;

    let message = assert_error(response, 400, "INVALID_VOICE_SAMPLE", Some("conv_text_wav")).await;
    assert!(message.contains("not audio"), "{message}");
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn rejects_ogg_opus_because_only_vorbis_is_supported() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &fixture("voice_5s.opus")).await;

    assert!(
        message.contains("not audio in a supported format"),
        "{message}"
    );
}

#[tokio::test]
async fn rejects_an_ogg_cut_inside_its_headers_as_undecodable() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &fixture("truncated_300b.ogg")).await;

    assert_eq!(
        message,
        "Voice sample could not be decoded as OGG Vorbis: unexpected end of data (truncated file?)"
    );
}

#[tokio::test]
async fn measures_truncated_files_from_the_audio_present_not_their_headers() {
    let app = spawn_app().await;

    for name in [
        "truncated_half.wav",
        "truncated_half.mp3",
        "truncated_half.flac",
        "truncated_2of3.ogg",
    ] {
        let message = refuse_sample(&app, &fixture(name)).await;
        assert!(
            message.starts_with("Voice sample too short: "),
            "{name}: {message}"
        );
    }
}

#[tokio::test]
async fn rejects_a_wav_header_without_audio() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &wav(0.0, 16_000)).await;

    assert!(message.starts_with("Voice sample "), "{message}");
}

#[tokio::test]
async fn rejects_an_empty_sample() {
    let app = spawn_app().await;
    let mut payload = json_payload("conv_empty", None);
    payload["voice_sample"] = json!({"format": "base64", "data": ""});

    let message = assert_error(
        app.post_json(&body_of(&payload)).await,
        400,
        "INVALID_VOICE_SAMPLE",
        Some("conv_empty"),
    )
    .await;

    assert_eq!(message, "Voice sample is empty");
    app.assert_nothing_reached_elevenlabs();
}

/// A WAV whose fmt chunk makes symphonia 0.5 hit `unreachable!()`.
fn wav_that_crashes_the_decoder() -> Vec<u8> {
    let mut fmt = Vec::new();
    for v in [0xFFFEu16, 1] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&16_000u32.to_le_bytes());
    fmt.extend_from_slice(&32_000u32.to_le_bytes());
    for v in [2u16, 0, 22, 0] {
        fmt.extend_from_slice(&v.to_le_bytes());
    }
    fmt.extend_from_slice(&4u32.to_le_bytes());
    fmt.extend_from_slice(&[
        1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71,
    ]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + 8 + fmt.len() as u32 + 8).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

#[tokio::test]
async fn a_wav_that_crashes_the_decoder_is_refused_and_the_service_carries_on() {
    let app = spawn_app().await;

    let message = refuse_sample(&app, &wav_that_crashes_the_decoder()).await;

    assert_eq!(
        message,
        "Voice sample could not be decoded as WAV: malformed data (the decoder crashed)"
    );
    let sample = wav(5.0, 16_000);
    let response = app
        .post_json(&body_of(&json_payload("conv_after_crash", Some(&sample))))
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn rejects_a_sample_over_the_size_limit() {
    // 0.1 MB: the 0.16 MB sample is over it, its multipart body (0.16 MB) is under the body
    // limit (base64 of 0.1 MB plus 64 KiB of framing, about 0.2 MB).
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", "0.1")]).await;
    let sample = wav(5.0, 16_000);
    assert_eq!(sample.len(), 160_044);

    let response = app
        .post_multipart(&metadata("conv_large"), Some(&sample))
        .await;

    let message = assert_error(response, 400, "INVALID_VOICE_SAMPLE", Some("conv_large")).await;
    assert_eq!(message, "Voice sample too large: 0.2 MB (max 0.1 MB)");
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn rejects_a_base64_sample_over_the_size_limit_in_a_json_body() {
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", "0.1")]).await;
    // 0.144 MB of audio; 0.19 MB of JSON, under the 0.198 MB body limit.
    let payload = json_payload("conv_large_json", Some(&wav(4.5, 16_000)));

    let response = app.post_json(&body_of(&payload)).await;

    let message = assert_error(
        response,
        400,
        "INVALID_VOICE_SAMPLE",
        Some("conv_large_json"),
    )
    .await;
    assert!(message.starts_with("Voice sample too large: "), "{message}");
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn the_too_large_message_never_shows_the_size_equal_to_the_limit() {
    // Like "too short" (rounded down so it never reads "3.0 s (min 3.0 s)"), a sample just over
    // the limit must not read "0.1 MB (max 0.1 MB)".
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", "0.1")]).await;
    let sample = wav(3.3, 16_000); // 105 644 bytes

    let response = app
        .post_multipart(&metadata("conv_just_over"), Some(&sample))
        .await;

    let message = assert_error(
        response,
        400,
        "INVALID_VOICE_SAMPLE",
        Some("conv_just_over"),
    )
    .await;
    let numbers: Vec<f64> = message
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|s| s.parse().ok())
        .collect();
    assert!(
        matches!(numbers[..], [size, max] if size > max),
        "the size shown must exceed the limit shown: {message}"
    );
}
