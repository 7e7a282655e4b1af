//! The service on a real Redis (SPEC "Several replicas"): while Redis is away it does nothing it
//! could not record — `/ready` and both signed webhooks answer `503 STORE_UNAVAILABLE` with
//! `Retry-After`, nothing is cloned, the conversation-initiation webhook keeps its neutral `200`
//! — and it recovers by itself when Redis returns. The raw phone number never reaches Redis.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_elevenlabs::{FakeElevenLabs, Route};
use crate::helpers::{
    PHONE_NUMBER, TestApp, assert_error_body, body_of, fixture, json_payload, spawn_against_fake,
    status_and_json,
};
use crate::initiation::{BEARER, TOKEN, ring};
use crate::redis_server::RedisServer;

const AGENT: &str = "agent_def456uvw";

async fn on_redis(fake: &FakeElevenLabs, redis: &RedisServer) -> TestApp {
    fake.add_agent(AGENT, "voice_original_0001", "Welkom!");
    spawn_against_fake(
        fake,
        &[
            ("REDIS_URL", &redis.url()),
            ("CONVERSATION_INITIATION_TOKEN", TOKEN),
        ],
    )
    .await
}

fn pre_call_body(conversation_id: &str) -> Vec<u8> {
    body_of(&json_payload(
        conversation_id,
        Some(&fixture("voice_5s.wav")),
    ))
}

/// `(status, body, Retry-After)` of `response`.
async fn answer_with_retry_after(response: reqwest::Response) -> (u16, Value, Option<u64>) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let (status, body) = status_and_json(response).await;
    (status.as_u16(), body, retry_after)
}

#[tokio::test]
async fn with_redis_away_nothing_is_done_that_could_not_be_recorded_and_it_recovers_by_itself() {
    let mut redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let app = on_redis(&fake, &redis).await;
    let (status, ready) = status_and_json(app.get("/ready").await).await;
    assert_eq!((status.as_u16(), &ready["store"]), (200, &json!("redis")));

    redis.stop();

    let (status, body, retry_after) = answer_with_retry_after(app.get("/ready").await).await;
    assert_error_body(status, &body, 503, "STORE_UNAVAILABLE", None);
    assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After on /ready");
    let (status, _) = status_and_json(app.get("/health").await).await;
    assert_eq!(status, 200, "the process is alive");

    let (status, body, retry_after) =
        answer_with_retry_after(app.post_json(&pre_call_body("conv_outage")).await).await;
    assert_error_body(status, &body, 503, "STORE_UNAVAILABLE", Some("conv_outage"));
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "Retry-After on /webhook"
    );
    assert_eq!(fake.request_count(Route::AddVoice), 0, "nothing cloned");
    assert_eq!(fake.voice_count(), 0);

    let event = json!({"type": "post_call_transcription", "event_timestamp": 1,
                       "data": {"conversation_id": "conv_outage"}});
    let (status, body, retry_after) = answer_with_retry_after(app.post_call(&event).await).await;
    assert_error_body(status, &body, 503, "STORE_UNAVAILABLE", None);
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "Retry-After on post-call"
    );

    let (status, neutral) =
        status_and_json(app.initiate(Some(BEARER), ring(PHONE_NUMBER, "CA1")).await).await;
    assert_eq!(status, 200, "a ringing call is never refused: {neutral}");
    assert_eq!(neutral["dynamic_variables"]["voice_personalised"], false);

    redis.restart().await;
    let recovered = async {
        while app.get("/ready").await.status() != 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), recovered)
        .await
        .expect("ready again within 30 s of Redis returning");
    let (status, made) = status_and_json(app.post_json(&pre_call_body("conv_outage")).await).await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(fake.voice_count(), 1);
}

#[tokio::test]
async fn the_raw_phone_number_never_reaches_redis() {
    let redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let app = on_redis(&fake, &redis).await;
    let (status, made) = status_and_json(app.post_json(&pre_call_body("conv_a")).await).await;
    assert_eq!(status, 200, "{made}");
    let (status, _) =
        status_and_json(app.initiate(Some(BEARER), ring(PHONE_NUMBER, "CA1")).await).await;
    assert_eq!(status, 200);

    let client = redis::Client::open(redis.url()).expect("the URL opens");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("a connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .expect("KEYS");
    assert!(!keys.is_empty(), "the registry and ledger are in Redis");
    let digits = PHONE_NUMBER.trim_start_matches('+');
    for key in keys {
        assert!(!key.contains(digits), "{key}");
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut connection)
            .await
            .expect("TYPE");
        let text = match kind.as_str() {
            "string" => {
                redis::cmd("GET")
                    .arg(&key)
                    .query_async::<Vec<u8>>(&mut connection)
                    .await
            }
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async::<Vec<Vec<u8>>>(&mut connection)
                .await
                .map(|parts| parts.concat()),
            "set" => redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async::<Vec<Vec<u8>>>(&mut connection)
                .await
                .map(|parts| parts.concat()),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async::<Vec<Vec<u8>>>(&mut connection)
                .await
                .map(|parts| parts.concat()),
            other => panic!("a key of type {other}: {key}"),
        }
        .expect("the value");
        let text = String::from_utf8_lossy(&text);
        assert!(!text.contains(digits), "{key} holds the number");
    }
}
