//! Retries: 429, 5xx and refused connections are retried with the whole request sent again,
//! `Retry-After` is honoured, and a clone whose fate is unknown is looked up, not re-sent.

use std::collections::HashMap;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::spec::assert_clone_request;
use super::*;
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
async fn a_503_is_retried_with_the_whole_form_sent_again() {
    let (server, client) = setup().await;
    fail_once_then_succeed(
        &server,
        "POST",
        "/v1/voices/add",
        ResponseTemplate::new(503),
        created(),
    )
    .await;
    voice_list(&server, json!([])).await;
    let fixture = CloneFixture::wav();

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "c38kUX8pkfYO2kHyqfFy");
    let requests = received_clones(&server).await;
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_clone_request(request, &fixture, "sample.wav", "audio/wav").await;
    }
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
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn a_server_that_keeps_failing_is_unavailable_after_the_retries() {
    let server = MockServer::start().await;
    let client = client_for(server.uri(), 2);
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    voice_list(&server, json!([])).await;
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert_eq!(received_clones(&server).await.len(), 3);
}

#[tokio::test]
async fn a_clone_whose_answer_was_lost_is_adopted_not_sent_again() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();
    voice_list(
        &server,
        json!([
            {"voice_id": "someone_else", "name": fixture.name.as_str(), "labels": {"conversation_id": "conv_other"}},
            {"voice_id": "voice_created", "name": fixture.name.as_str(), "labels": {"source": "precall-webhook", "conversation_id": CONVERSATION_ID}},
        ]),
    )
    .await;

    let cloned = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap();

    assert_eq!(cloned.voice_id.as_str(), "voice_created");
    let lookups: Vec<Request> = received(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "GET")
        .collect();
    assert_eq!(lookups.len(), 1);
    let query: HashMap<String, String> = lookups[0].url.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("search").map(String::as_str),
        Some(fixture.name.as_str())
    );
    assert_eq!(header_of(&lookups[0], "xi-api-key"), API_KEY);
}

#[tokio::test]
async fn a_clone_is_not_sent_again_when_its_fate_cannot_be_checked() {
    let (server, client) = setup().await;
    Mock::given(method("POST"))
        .and(path("/v1/voices/add"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let fixture = CloneFixture::wav();

    let error = client
        .clone_voice(fixture.request(in_secs(10)))
        .await
        .unwrap_err();

    assert!(matches!(error, UpstreamError::Unavailable(_)), "{error:?}");
    assert_eq!(received_clones(&server).await.len(), 1);
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
