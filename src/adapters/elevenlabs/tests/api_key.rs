//! The API key stays secret: not in `Debug` output, and not in errors that echo it back.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

use super::*;

#[tokio::test]
async fn debug_output_never_shows_the_api_key() {
    let server = MockServer::start().await;
    let config = config(server.uri(), 2);
    let client = ElevenLabsClient::new(config.clone()).unwrap();

    assert!(!format!("{config:?}").contains(API_KEY));
    assert!(!format!("{client:?}").contains(API_KEY));
    assert!(!format!("{client:#?} {config:#?}").contains("SECRET"));
}

#[tokio::test]
async fn a_refusal_that_echoes_the_key_is_repeated_without_it() {
    let error = clone_refused_with(business_error(
        401,
        "invalid_api_key",
        &format!("key {API_KEY} is invalid"),
    ))
    .await;

    assert!(matches!(error, UpstreamError::Refused(_)), "{error:?}");
    assert!(!error.to_string().contains(API_KEY), "{error}");
    assert!(!format!("{error:?}").contains(API_KEY), "{error:?}");
}

#[tokio::test]
async fn a_failure_that_echoes_the_key_is_repeated_without_it() {
    let server = MockServer::start().await;
    let client = client_for(server.uri(), 0);
    Mock::given(method("DELETE"))
        .respond_with(business_error(
            500,
            "internal",
            &format!("key {API_KEY} broke us"),
        ))
        .expect(1)
        .mount(&server)
        .await;

    let error = client
        .delete_voice(&voice("v1"), in_secs(10))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert!(!error.to_string().contains(API_KEY), "{error}");
}

#[tokio::test]
async fn a_long_error_cut_short_in_the_middle_of_the_key_shows_no_part_of_it() {
    // `invalid_api_key: ` is 17 characters; the reason is cut at 300, five into the key.
    let message = format!("{} {API_KEY} is invalid", "x".repeat(277));
    for status in [401, 500] {
        let server = MockServer::start().await;
        let client = client_for(server.uri(), 0);
        Mock::given(method("DELETE"))
            .respond_with(business_error(status, "invalid_api_key", &message))
            .expect(1)
            .mount(&server)
            .await;

        let error = client
            .delete_voice(&voice("v1"), in_secs(10))
            .await
            .unwrap_err();

        assert!(
            !error.to_string().contains(&API_KEY[..5]),
            "{status}: {error}"
        );
    }
}
