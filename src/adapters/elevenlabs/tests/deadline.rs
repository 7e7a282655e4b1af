//! The deadline: a slow server or a long `Retry-After` never keeps the caller past it.

use wiremock::Mock;
use wiremock::matchers::{method, path};

use super::*;

#[tokio::test]
async fn a_clone_still_unanswered_at_the_deadline_is_uncertain() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(created().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();
    let deadline = Instant::now() + Duration::from_millis(300);

    let result = tokio::time::timeout(
        Duration::from_secs(4),
        client.clone_voice(fixture.request(deadline)),
    )
    .await
    .expect("the call must give up at its deadline, not wait for the server");

    // It was sent: ElevenLabs may be making the voice right now.
    assert!(
        matches!(result, Err(UpstreamError::Uncertain { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_is_not_waited_for() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(
            business_error(429, "system_busy", "retry later").insert_header("Retry-After", "30"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let result = tokio::time::timeout(
        Duration::from_secs(4),
        client.clone_voice(fixture.request(in_secs(1))),
    )
    .await
    .expect("the call must not sleep past its deadline");

    let Err(UpstreamError::Unavailable(message)) = result else {
        panic!("expected Unavailable, got {result:?}");
    };
    assert!(message.contains("deadline"), "{message}");
}
