//! Retries: 429, 5xx and refused connections are retried with the whole request sent again,
//! `Retry-After` is honoured; a clone whose fate is unknown is never re-sent (it comes back
//! uncertain for the use case to look it up), and look-ups read every page.

use std::collections::HashMap;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::spec::assert_clone_request;
use super::*;
use crate::domain::ConversationId;
use crate::ports::AgentConfigurator;

/// On `route`: answers `first` once (a higher-priority mock), then `then`; each exactly once.
async fn fail_once_then_succeed(
    server: &MockServer,
    verb: &str,
    route: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(then)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_503_on_a_clone_is_uncertain_with_its_retry_after_and_never_sent_again_blindly() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "2"))
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    // ElevenLabs may have made the voice before failing: the use case looks before retrying,
    // after the wait ElevenLabs asked for.
    let UpstreamError::Uncertain { retry_after, .. } = error else {
        panic!("expected Uncertain, got {error:?}");
    };
    assert_eq!(retry_after, Some(Duration::from_secs(2)));
    let requests = received_clones(&server).await;
    assert_eq!(requests.len(), 1);
    assert_clone_request(&requests[0], &fixture, "sample.wav", "audio/wav").await;
}

#[tokio::test]
async fn a_clone_with_less_than_its_minimum_attempt_left_is_not_sent() {
    let (server, client) = setup().await;
    let fixture = CloneFixture::wav();
    let mut request = fixture.request(in_secs(2));
    request.min_attempt = Duration::from_secs(5);

    let error = client.clone_voice(request).await.unwrap_err();

    assert!(matches!(error, UpstreamError::OutOfTime(_)), "{error:?}");
    assert!(received(&server).await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_429_is_retried() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "PATCH",
        "/v1/convai/agents/agent_1",
        business_error(429, "too_many_concurrent_requests", "Too many requests"),
        ResponseTemplate::new(200).set_body_json(json!({"agent_id": AGENT_ID})),
    )
    .await;

    client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap();

    let requests = received(&server).await;
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].body, requests[1].body);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "POST",
        "/v1/voices/add",
        business_error(429, "system_busy", "retry later").insert_header("Retry-After", "1"),
        created(),
    )
    .await;
    let fixture = CloneFixture::wav();
    let started = Instant::now();

    client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    // The first attempt sends the form built before it; the retry builds its own, whole.
    let requests = received_clones(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_clone_request(request, &fixture, "sample.wav", "audio/wav").await;
    }
}

#[tokio::test]
async fn a_delete_that_keeps_failing_is_unavailable_after_the_retries() {
    let (server, client) = setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/voices/voice_1"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;

    let error = client
        .delete_voice(&voice("voice_1"), in_secs(10))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn an_agent_update_that_keeps_failing_with_5xx_is_uncertain_it_may_have_been_applied() {
    let (server, client) = setup().await;
    Mock::given(method("PATCH"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;

    let error = client
        .update_agent(&agent(), &voice_and_greeting(), in_secs(10))
        .await
        .unwrap_err();

    assert!(
        matches!(error, UpstreamError::Uncertain { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_voices_of_a_conversation_are_found_by_its_label_on_every_page() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .and(wiremock::matchers::query_param("next_page_token", "page2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "voices": [
                {"voice_id": "voice_late", "name": "Ivan_Clone_20251210_123501", "created_at_unix": 20,
                 "labels": {"source": "precall-webhook", "owner": OWNER, "conversation_id": CONVERSATION_ID}},
            ],
            "has_more": false, "total_count": 6, "next_page_token": null
        })))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "voices": [
                {"voice_id": "someone_else", "name": "x", "labels": {"conversation_id": "conv_other"}},
                {"voice_id": "not_ours", "name": "y", "labels": {"conversation_id": CONVERSATION_ID}},
                {"voice_id": "no_owner", "name": "z", "created_at_unix": 1,
                 "labels": {"source": "precall-webhook", "conversation_id": CONVERSATION_ID}},
                {"voice_id": "other_deployment", "name": "w", "created_at_unix": 2,
                 "labels": {"source": "precall-webhook", "owner": "staging", "conversation_id": CONVERSATION_ID}},
                {"voice_id": "voice_early", "name": "Ivan_Clone_20251210_123456", "created_at_unix": 10,
                 "labels": {"source": "precall-webhook", "owner": OWNER, "conversation_id": CONVERSATION_ID}},
            ],
            "has_more": true, "total_count": 6, "next_page_token": "page2"
        })))
        .mount(&server)
        .await;

    let found = client
        .find_voices(
            &ConversationId::parse(CONVERSATION_ID).unwrap(),
            in_secs(10),
        )
        .await
        .unwrap();

    let ids: Vec<&str> = found.iter().map(|v| v.voice_id.as_str()).collect();
    assert_eq!(
        ids,
        ["voice_early", "voice_late"],
        "this deployment's only, oldest first"
    );
    assert_eq!(found[0].name.as_str(), "Ivan_Clone_20251210_123456");
    let lookups = received(&server).await;
    assert_eq!(lookups.len(), 2, "both pages read");
    let query: HashMap<String, String> = lookups[0].url.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("search").map(String::as_str),
        Some(CONVERSATION_ID)
    );
    assert_eq!(query.get("category").map(String::as_str), Some("cloned"));
    assert_eq!(header_of(&lookups[0], "xi-api-key"), API_KEY);
}

#[tokio::test]
async fn an_agent_is_read_back_with_its_voice_and_greeting() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v1/convai/agents/agent_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "agent_id": AGENT_ID,
            "conversation_config": {
                "tts": {"voice_id": "voice_1", "model_id": "eleven_flash_v2"},
                "agent": {"first_message": "Hallo Ivan", "language": "nl"}
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let settings = client.read_agent(&agent(), in_secs(10)).await.unwrap();

    assert_eq!(settings.voice_id, Some(voice("voice_1")));
    assert_eq!(settings.first_message.as_deref(), Some("Hallo Ivan"));
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_after_the_retries() {
    // A port that was free a moment ago and that nothing listens on now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_for(format!("http://127.0.0.1:{port}"), 2);
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    let UpstreamError::Unavailable(message) = error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("cannot connect"), "{message}");
}
