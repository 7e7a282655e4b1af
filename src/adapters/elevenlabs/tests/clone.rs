//! Cloning a voice: the request ElevenLabs receives, and what is read back from its answer.

use bytes::Bytes;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::spec::assert_clone_request;
use super::*;

const MP3_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/audio/voice_5s_xing_id3.mp3"
);

#[tokio::test]
async fn clone_posts_the_wav_sample_as_one_file_part_with_name_description_and_labels() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_clone_request(&requests[0], &fixture, "sample.wav", "audio/wav").await;
}

#[tokio::test]
async fn clone_names_and_types_an_mp3_sample_after_its_measured_format() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::of(sample(
        Bytes::from(std::fs::read(MP3_FIXTURE).unwrap()),
        AudioFormat::Mp3,
        16_000,
    ));

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_clone_request(&requests[0], &fixture, "sample.mp3", "audio/mpeg").await;
}

#[tokio::test]
async fn clone_reads_the_voice_id_and_the_verification_flag() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"voice_id": "c38kUX8pkfYO2kHyqfFy", "requires_verification": true}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "c38kUX8pkfYO2kHyqfFy");
    assert!(cloned.requires_verification);
}

#[tokio::test]
async fn a_malformed_success_body_is_uncertain_not_a_panic() {
    let bodies: [(&str, &str); 4] = [
        ("{}", "application/json"),
        ("this is not json", "text/plain"),
        (r#"{"voice_id":"../etc/passwd"}"#, "application/json"),
        ("", "application/json"),
    ];
    for (body, mime) in bodies {
        let (server, client) = setup().await;
        Mock::given(method("POST"))
            .and(path("/v1/voices/add"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, mime))
            .expect(1)
            .mount(&server)
            .await;
        let fixture = CloneFixture::wav();

        let error = client
            .clone_voice(fixture.request(in_secs(10)))
            .await
            .unwrap_err();

        // A 2xx means the voice was made: the answer is lost, not the voice.
        assert!(
            matches!(error, UpstreamError::Uncertain { .. }),
            "{body:?} gave {error:?}"
        );
    }
}
