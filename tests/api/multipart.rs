//! `POST /webhook` as `multipart/form-data`: a `metadata` JSON part and a `voice_sample` file.
//! The audio format comes from the bytes: every file part here is `sample.bin`, typed
//! `application/octet-stream`.

use precall_webhook::domain::AudioFormat;

use crate::helpers::{assert_ivan_personalised, fixture, metadata, spawn_app, wav};

async fn accepts_a_multipart_sample(sample: &[u8], format: AudioFormat) {
    let app = spawn_app().await;

    let response = app
        .post_multipart(&metadata("conv_multipart"), Some(sample))
        .await;

    assert_ivan_personalised(&app, response, "conv_multipart", sample).await;
    assert_eq!(app.cloner.clones()[0].format, format);
}

#[tokio::test]
async fn clones_the_voice_from_a_wav_file_part() {
    accepts_a_multipart_sample(&wav(5.0, 16_000), AudioFormat::Wav).await;
}

#[tokio::test]
async fn clones_the_voice_from_a_wav_fixture_file_part() {
    accepts_a_multipart_sample(&fixture("voice_5s.wav"), AudioFormat::Wav).await;
}

#[tokio::test]
async fn detects_an_mp3_with_id3_and_xing_headers_from_its_bytes() {
    accepts_a_multipart_sample(&fixture("voice_5s_xing_id3.mp3"), AudioFormat::Mp3).await;
}

#[tokio::test]
async fn detects_a_constant_bitrate_mp3_without_xing_header_from_its_bytes() {
    accepts_a_multipart_sample(&fixture("voice_5s_cbr_noxing.mp3"), AudioFormat::Mp3).await;
}

#[tokio::test]
async fn detects_an_ogg_vorbis_file_from_its_bytes() {
    accepts_a_multipart_sample(&fixture("voice_5s.ogg"), AudioFormat::OggVorbis).await;
}

#[tokio::test]
async fn detects_a_flac_file_from_its_bytes() {
    accepts_a_multipart_sample(&fixture("voice_5s.flac"), AudioFormat::Flac).await;
}

#[tokio::test]
async fn personalises_the_greeting_from_metadata_alone() {
    let app = spawn_app().await;

    let response = app.post_multipart(&metadata("conv_meta_only"), None).await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.cloner.clones(), vec![]);
    let updates = app.agents.updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].update.voice_id, None);
    assert_eq!(
        updates[0].update.first_message.as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
}
