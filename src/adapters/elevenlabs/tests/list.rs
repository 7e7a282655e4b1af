//! Listing this deployment's clones: every page of `GET /v2/voices` without `search`, only the
//! voices whose `source` and `owner` labels are ours, labels read without trusting them.

use std::collections::HashMap;

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

/// Our labels for a clone of `conversation_id` for `agent_id`.
fn ours(conversation_id: &str, agent_id: &str) -> Value {
    json!({"source": "precall-webhook", "owner": OWNER,
           "conversation_id": conversation_id, "agent_id": agent_id})
}

fn page(voices: Value, next_page_token: Option<&str>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "voices": voices,
        "has_more": next_page_token.is_some(),
        "total_count": 9,
        "next_page_token": next_page_token,
    }))
}

/// Serves the first page (no token) and the pages after `p2` and `p3`.
async fn three_pages(server: &MockServer, first: Value, second: Value, third: Value) {
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .and(query_param_is_missing("next_page_token"))
        .respond_with(page(first, Some("p2")))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .and(query_param("next_page_token", "p2"))
        .respond_with(page(second, Some("p3")))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .and(query_param("next_page_token", "p3"))
        .respond_with(page(third, None))
        .expect(1)
        .mount(server)
        .await;
}

fn ids(voices: &[ListedVoice]) -> Vec<&str> {
    voices.iter().map(|v| v.voice_id.as_str()).collect()
}

#[tokio::test]
async fn every_page_is_read_and_only_this_deployments_clones_are_listed_oldest_first() {
    let (server, client) = setup().await;
    three_pages(
        &server,
        json!([
            {"voice_id": "ours_b", "name": "Ivan_Clone_20251210_123456", "created_at_unix": 200,
             "labels": ours("conv_b", "agent_b")},
            {"voice_id": "users_own", "name": "Narrator", "created_at_unix": 1,
             "labels": {"accent": "British"}},
            {"voice_id": "no_labels", "name": "Bare", "created_at_unix": 2},
        ]),
        json!([
            {"voice_id": "source_only", "name": "x", "created_at_unix": 3,
             "labels": {"source": "precall-webhook", "conversation_id": "conv_x"}},
            {"voice_id": "owner_only", "name": "y", "created_at_unix": 4,
             "labels": {"owner": OWNER, "conversation_id": "conv_y"}},
            {"voice_id": "ours_a", "name": "Anna_Clone_20251210_120000", "created_at_unix": 100,
             "labels": ours("conv_a", "agent_a")},
        ]),
        json!([
            {"voice_id": "another_deployment", "name": "z", "created_at_unix": 5,
             "labels": {"source": "precall-webhook", "owner": "staging",
                        "conversation_id": "conv_z", "agent_id": "agent_z"}},
            {"voice_id": "another_tool", "name": "w", "created_at_unix": 6,
             "labels": {"source": "someone-else", "owner": OWNER}},
            {"voice_id": "ours_c", "name": "Clone_20251210_130000", "created_at_unix": 300,
             "labels": ours("conv_c", "agent_c")},
        ]),
    )
    .await;

    let listed = client.list_voices(in_secs(10)).await.unwrap();

    assert_eq!(ids(&listed), ["ours_a", "ours_b", "ours_c"]);
    assert_eq!(
        listed[0],
        ListedVoice {
            voice_id: voice("ours_a"),
            name: VoiceName::on_platform("Anna_Clone_20251210_120000"),
            conversation_id: Some(ConversationId::parse("conv_a").unwrap()),
            agent_id: Some(AgentId::parse("agent_a").unwrap()),
            created_at_unix: Some(100),
        }
    );
    let lookups = received(&server).await;
    assert_eq!(lookups.len(), 3, "all three pages, nothing more");
    for lookup in &lookups {
        let query: HashMap<String, String> = lookup.url.query_pairs().into_owned().collect();
        assert_eq!(query.get("category").map(String::as_str), Some("cloned"));
        assert_eq!(
            query.get("voice_type").map(String::as_str),
            Some("personal")
        );
        assert_eq!(query.get("page_size").map(String::as_str), Some("100"));
        assert!(
            !query.contains_key("search"),
            "the search index may lag behind new voices: {query:?}"
        );
        assert_eq!(header_of(lookup, "xi-api-key"), API_KEY);
    }
    server.verify().await;
}

#[tokio::test]
async fn labels_that_are_not_valid_ids_read_as_absent_and_a_missing_time_sorts_last() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(page(
            json!([
                {"voice_id": "undated", "name": "u",
                 "labels": {"source": "precall-webhook", "owner": OWNER}},
                {"voice_id": "odd_labels", "name": "o", "created_at_unix": 7,
                 "labels": {"source": "precall-webhook", "owner": OWNER,
                            "conversation_id": "../../etc/passwd", "agent_id": ""}},
                {"voice_id": "", "name": "no id", "created_at_unix": 8,
                 "labels": {"source": "precall-webhook", "owner": OWNER}},
                {"voice_id": "null_labels", "name": "n", "labels": null},
            ]),
            None,
        ))
        .mount(&server)
        .await;

    let listed = client.list_voices(in_secs(10)).await.unwrap();

    assert_eq!(
        ids(&listed),
        ["odd_labels", "undated"],
        "an invalid id is skipped"
    );
    assert_eq!(listed[0].conversation_id, None);
    assert_eq!(listed[0].agent_id, None);
    assert_eq!(listed[1].created_at_unix, None);
}

#[tokio::test]
async fn more_pages_than_an_account_holds_is_an_error_not_a_short_list() {
    let (server, client) = setup().await;
    // A platform that always says there is more.
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(page(
            json!([{"voice_id": "ours", "name": "n", "labels": ours("conv_a", "agent_a")}]),
            Some("again"),
        ))
        .mount(&server)
        .await;

    let error = client.list_voices(in_secs(10)).await.unwrap_err();

    let UpstreamError::Unavailable(message) = &error else {
        panic!("expected Unavailable, got {error:?}");
    };
    assert!(message.contains("50 pages"), "{message}");
    assert_eq!(received(&server).await.len(), 50, "stopped at the cap");
}

#[tokio::test]
async fn more_pages_without_a_token_to_reach_them_is_an_error() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "voices": [], "has_more": true, "next_page_token": null
        })))
        .expect(1)
        .mount(&server)
        .await;

    let error = client.list_voices(in_secs(10)).await.unwrap_err();

    assert!(
        matches!(&error, UpstreamError::Unavailable(m) if m.contains("next_page_token")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_refused_listing_is_a_refusal() {
    let (server, client) = setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/voices"))
        .respond_with(business_error(401, "invalid_api_key", "Invalid API key"))
        .expect(1)
        .mount(&server)
        .await;

    let error = client.list_voices(in_secs(10)).await.unwrap_err();

    assert!(matches!(error, UpstreamError::Refused(_)), "{error:?}");
}
