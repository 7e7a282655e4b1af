//! Reading the body: `413 PAYLOAD_TOO_LARGE` over the limit (before the signature is known,
//! without reading the rest), `408 REQUEST_TIMEOUT` when it does not arrive in time.

use crate::helpers::{
    assert_error, assert_error_body, assert_ivan_personalised, body_of, json_payload, spawn_app,
    spawn_app_with, wav,
};

/// `VOICE_CLONE_MAX_SIZE_MB=0.05`: a body limit of [`body_limit`]`(50 000)` = 157 205 bytes.
const SMALL_LIMIT: (&str, &str) = ("VOICE_CLONE_MAX_SIZE_MB", "0.05");
const SMALL_BODY_LIMIT: usize = 157_205;

/// The body limit for samples of up to `max_sample` bytes: their base64, 3/8 more for escaped
/// slashes (`\/`), and 64 KiB for the JSON or multipart around it.
fn body_limit(max_sample: usize) -> usize {
    let base64 = max_sample.div_ceil(3) * 4;
    base64 + (base64 * 3).div_ceil(8) + 64 * 1024
}

/// A 32-bit mono 16 kHz WAV of exactly `bytes` bytes holding a quiet noise floor (a few
/// LSB): PCM whose base64 holds about the most `/` measured (35 %).
fn quiet_32_bit_wav(bytes: usize) -> Vec<u8> {
    let data_len = bytes - 44;
    assert_eq!(data_len % 4, 0, "whole 32-bit frames");
    let mut wav = Vec::with_capacity(bytes);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&u32::try_from(36 + data_len).unwrap().to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&(16_000u32 * 4).to_le_bytes());
    wav.extend_from_slice(&4u16.to_le_bytes());
    wav.extend_from_slice(&32u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&u32::try_from(data_len).unwrap().to_le_bytes());
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..data_len / 4 {
        // Gaussian noise, standard deviation 8 LSB (Box-Muller).
        let (u, v) = (1.0 - rng.f64(), rng.f64());
        let noise = 8.0 * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        wav.extend_from_slice(&(noise.round() as i32).to_le_bytes());
    }
    wav
}

/// `body` with every `/` written as `\/`, as PHP's `json_encode` does by default.
fn escape_slashes(body: &[u8]) -> Vec<u8> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .replace('/', "\\/")
        .into_bytes()
}

fn request_head(extra_headers: &str) -> String {
    format!(
        "POST /webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         {extra_headers}\r\n"
    )
}

#[tokio::test]
async fn refuses_a_body_over_the_limit_even_unsigned() {
    let app = spawn_app_with(&[SMALL_LIMIT]).await;
    let body = body_of(&json_payload("conv_big", Some(&wav(5.0, 16_000))));
    assert!(body.len() > SMALL_BODY_LIMIT);

    let response = app
        .post_raw(&[("content-type", "application/json")], body)
        .await;

    let message = assert_error(response, 413, "PAYLOAD_TOO_LARGE", None).await;
    assert_eq!(
        message,
        format!("Request body exceeds the limit of {SMALL_BODY_LIMIT} bytes")
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn refuses_a_signed_body_over_the_limit() {
    let app = spawn_app_with(&[SMALL_LIMIT]).await;
    let body = body_of(&json_payload("conv_big", Some(&wav(5.0, 16_000))));

    let response = app.post_json(&body).await;

    assert_error(response, 413, "PAYLOAD_TOO_LARGE", None).await;
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn accepts_a_json_body_carrying_a_sample_exactly_at_the_size_limit() {
    // The body limit leaves room for base64 (4/3) and the JSON around the sample.
    let sample = wav(5.0, 16_000);
    let limit = format!("{}", sample.len() as f64 / 1e6);
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", &limit)]).await;

    let response = app
        .post_json(&body_of(&json_payload("conv_at_limit", Some(&sample))))
        .await;

    assert_ivan_personalised(&app, response, "conv_at_limit", &sample).await;
}

#[tokio::test]
async fn accepts_a_sample_at_the_size_limit_with_every_slash_escaped() {
    let sample = quiet_32_bit_wav(500_000);
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", "0.5")]).await;
    let plain = body_of(&json_payload("conv_escaped_at_limit", Some(&sample)));
    let body = escape_slashes(&plain);
    let slashes = plain.iter().filter(|&&b| b == b'/').count();
    assert!(
        slashes * 100 / plain.len() >= 34,
        "a sample whose base64 is rich in '/': {slashes} of {}",
        plain.len()
    );
    assert!(
        body.len() > 666_668 + 64 * 1024,
        "over what base64 and framing alone would allow: {}",
        body.len()
    );
    assert!(body.len() <= body_limit(500_000));

    let response = app.post_json(&body).await;

    assert_ivan_personalised(&app, response, "conv_escaped_at_limit", &sample).await;
}

#[tokio::test]
async fn refuses_an_escaped_body_one_byte_over_the_computed_limit() {
    let sample = quiet_32_bit_wav(500_000);
    let app = spawn_app_with(&[("VOICE_CLONE_MAX_SIZE_MB", "0.5")]).await;
    let limit = body_limit(500_000);
    let mut body = escape_slashes(&body_of(&json_payload("conv_escaped_over", Some(&sample))));
    // Trailing whitespace keeps it valid JSON: only its size is wrong.
    body.resize(limit + 1, b' ');

    let response = app.post_json(&body).await;

    let message = assert_error(response, 413, "PAYLOAD_TOO_LARGE", None).await;
    assert_eq!(
        message,
        format!("Request body exceeds the limit of {limit} bytes")
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn refuses_a_huge_declared_content_length_without_waiting_for_the_body() {
    // The default 30 s body deadline: a server that waited for the body would answer 408 (or
    // trip the helper's guard), not 413.
    let app = spawn_app().await;
    let mut request = request_head("Content-Length: 1000000000000\r\n").into_bytes();
    request.extend_from_slice(br#"{"type":"pre_call""#);

    let response = app.raw_tcp(&request).await;

    assert_error_body(
        response.status,
        &response.body,
        413,
        "PAYLOAD_TOO_LARGE",
        None,
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn refuses_a_chunked_body_once_it_grows_over_the_limit() {
    let app = spawn_app_with(&[SMALL_LIMIT]).await;
    let chunk = vec![b' '; 100_000];
    let mut request = request_head("Transfer-Encoding: chunked\r\n").into_bytes();
    for _ in 0..2 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    // No final chunk: the server must stop at the limit, not wait for the end.

    let response = app.raw_tcp(&request).await;

    assert_error_body(
        response.status,
        &response.body,
        413,
        "PAYLOAD_TOO_LARGE",
        None,
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn answers_408_when_the_body_does_not_arrive_in_time() {
    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT_SECONDS", "0.3")]).await;
    let mut request = request_head("Content-Length: 1000\r\n").into_bytes();
    request.extend_from_slice(&[b' '; 100]);

    let response = app.raw_tcp(&request).await;

    let message = assert_error_body(
        response.status,
        &response.body,
        408,
        "REQUEST_TIMEOUT",
        None,
    );
    assert!(
        message.starts_with("Request body did not arrive within "),
        "{message}"
    );
    app.assert_nothing_reached_elevenlabs();
}

#[tokio::test]
async fn the_timeout_message_states_the_configured_deadline() {
    let app = spawn_app_with(&[("REQUEST_BODY_TIMEOUT_SECONDS", "0.3")]).await;
    let mut request = request_head("Content-Length: 1000\r\n").into_bytes();
    request.extend_from_slice(&[b' '; 100]);

    let response = app.raw_tcp(&request).await;

    assert_eq!(
        response.body["error_message"], "Request body did not arrive within 0.3 s",
        "{:?}",
        response.body
    );
}
