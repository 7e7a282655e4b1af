//! `GET /metrics` (SPEC "Operating it"): real traffic through the server — against the stateful
//! fake ElevenLabs where the account matters — then a scrape, parsed as Prometheus reads it, and
//! the values asserted. Labels never carry caller data or ids.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use precall_webhook::ports::UpstreamError;
use serde_json::{Value, json};

use crate::fake_elevenlabs::FakeElevenLabs;
use crate::helpers::{
    PHONE_NUMBER, TestApp, assert_error, body_of, fixture, json_payload, metadata,
    spawn_against_fake, spawn_app, status_and_json, wav,
};
use crate::initiation::{BEARER, TOKEN, ring};
use crate::observed_cloner::ObservedCloner;

const AGENT: &str = "agent_def456uvw";

/// One sample of the exposition: its labels and value.
type Samples = BTreeMap<String, Vec<(BTreeMap<String, String>, f64)>>;

/// The exposition, as Prometheus would scrape it: `200`, the text format's content type.
async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.expect("a body")
}

/// Parses `name{label="value",…} number` lines (comments skipped) by metric name.
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("a sample line: {line:?}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
            None => (series, BTreeMap::new()),
        };
        samples
            .entry(name.to_owned())
            .or_default()
            .push((labels, value));
    }
    samples
}

/// `a="x",b="y"` → {a: x, b: y} (our values hold no quotes or commas; asserted).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("a label pair: {pair:?}"));
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("a quoted label value: {pair:?}"));
            assert!(
                !value.contains(['"', '\\']),
                "an escaped label value: {pair}"
            );
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// The sum of the samples of `name` whose labels include `labels` (0 when there are none).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    parse(text)
        .get(name)
        .into_iter()
        .flatten()
        .filter(|(have, _)| {
            labels
                .iter()
                .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, value)| value)
        .sum()
}

/// Whether the exposition has a sample of `name` at all.
fn has(text: &str, name: &str) -> bool {
    parse(text).contains_key(name)
}

/// Scrapes until `condition` holds on the exposition, and returns that exposition. The bound
/// only turns a wait that would never end into a failure; it asserts no duration.
async fn scrape_until(app: &TestApp, what: &str, condition: impl Fn(&str) -> bool) -> String {
    let wait = async {
        loop {
            let text = scrape(app).await;
            if condition(&text) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("{what} within 30 s"))
}

async fn account() -> FakeElevenLabs {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    fake
}

/// Ivan's webhook for `conversation_id` with a sample, from `phone` (none: anonymous).
fn ivan(conversation_id: &str, phone: Option<&str>) -> Vec<u8> {
    let mut payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"]["phone_number"] = phone.map_or(Value::Null, Value::from);
    body_of(&payload)
}

async fn ok(app: &TestApp, body: &[u8]) -> Value {
    let (status, body) = status_and_json(app.post_json(body).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn transcription(conversation_id: &str, call_sid: &str) -> Value {
    json!({
        "type": "post_call_transcription",
        "event_timestamp": 1_796_161_275,
        "data": {
            "agent_id": AGENT,
            "conversation_id": conversation_id,
            "metadata": {"phone_call": {"type": "twilio", "call_sid": call_sid}}
        }
    })
}

#[tokio::test]
async fn requests_are_counted_by_endpoint_status_and_error_code_and_timed() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, "precall_http_requests_total", &[]), 0.0);

    ok(&app, &body_of(&metadata("conv_counted"))).await;
    let unsigned = app
        .post_raw(
            &[("content-type", "application/json")],
            body_of(&metadata("conv_unsigned")),
        )
        .await;
    assert_error(unsigned, 401, "INVALID_SIGNATURE", None).await;
    assert_error(app.get("/no/such/path").await, 404, "NOT_FOUND", None).await;
    assert_error(app.get("/webhook").await, 405, "METHOD_NOT_ALLOWED", None).await;
    let filler = "f".repeat(20_000);
    let crowded = app
        .post_raw(
            &[("content-type", "application/json"), ("x-filler", &filler)],
            body_of(&metadata("conv_crowded")),
        )
        .await;
    assert_error(crowded, 431, "HEADERS_TOO_LARGE", None).await;

    let text = scrape(&app).await;
    let requests = |labels: &[(&str, &str)]| value(&text, "precall_http_requests_total", labels);
    assert_eq!(
        requests(&[
            ("endpoint", "/webhook"),
            ("status", "200"),
            ("error_code", "none")
        ]),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(&[
            ("endpoint", "/webhook"),
            ("status", "401"),
            ("error_code", "INVALID_SIGNATURE")
        ]),
        1.0
    );
    for (status, code) in [("405", "METHOD_NOT_ALLOWED"), ("431", "HEADERS_TOO_LARGE")] {
        assert_eq!(
            requests(&[
                ("endpoint", "/webhook"),
                ("status", status),
                ("error_code", code)
            ]),
            1.0,
            "the router's and the header cap's answers are counted by their code"
        );
    }
    assert_eq!(
        requests(&[
            ("endpoint", "other"),
            ("status", "404"),
            ("error_code", "NOT_FOUND")
        ]),
        1.0,
        "an unknown path is `other`, never its own series"
    );
    assert_eq!(
        requests(&[("endpoint", "/metrics"), ("status", "200")]),
        1.0,
        "the first scrape"
    );
    assert_eq!(
        value(
            &text,
            "precall_http_request_duration_seconds_count",
            &[("endpoint", "/webhook")]
        ),
        4.0,
        "one handled, one unsigned, one wrong method, one over the header cap"
    );
    assert_eq!(
        value(
            &text,
            "precall_http_request_duration_seconds_bucket",
            &[("endpoint", "/webhook"), ("le", "+Inf")]
        ),
        4.0
    );
}

#[tokio::test]
async fn a_clone_and_an_agent_update_are_upstream_calls_with_outcome_ok() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;

    ok(&app, &ivan("conv_upstream", Some(PHONE_NUMBER))).await;

    let text = scrape(&app).await;
    let calls = |operation: &str, outcome: &str| {
        value(
            &text,
            "precall_upstream_calls_total",
            &[("operation", operation), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("clone", "ok"), 1.0, "{text}");
    assert_eq!(calls("update_agent", "ok"), 1.0);
    assert_eq!(
        calls("read_agent", "ok"),
        1.0,
        "what the agent had is read once"
    );
    assert_eq!(
        value(
            &text,
            "precall_upstream_call_duration_seconds_count",
            &[("operation", "clone")]
        ),
        1.0
    );
    assert_eq!(
        value(&text, "precall_live_clones", &[]),
        1.0,
        "the registry holds the clone"
    );
}

#[tokio::test]
async fn a_repeat_caller_counts_one_reuse_and_a_replay_none() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    ok(&app, &ivan("conv_monday", Some(PHONE_NUMBER))).await;
    assert_eq!(
        value(&scrape(&app).await, "precall_voice_reuses_total", &[]),
        0.0
    );

    let again = ivan("conv_tuesday", Some(PHONE_NUMBER));
    assert_eq!(ok(&app, &again).await["voice_reused"], true);
    // The same delivery again is answered from memory: not another reuse.
    ok(&app, &again).await;

    let text = scrape(&app).await;
    assert_eq!(value(&text, "precall_voice_reuses_total", &[]), 1.0);
    assert_eq!(
        value(
            &text,
            "precall_upstream_calls_total",
            &[("operation", "clone")]
        ),
        1.0,
        "one clone for both calls"
    );
}

#[tokio::test]
async fn a_release_after_the_call_counts_a_deletion_after_call_once_the_delete_ran() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[]).await;
    ok(&app, &ivan("conv_anon", None)).await;
    let (status, body) = status_and_json(
        app.post_call(&transcription("conv_anon", "CA_release"))
            .await,
    )
    .await;
    assert_eq!(
        (status.as_u16(), &body["action"]),
        (200, &json!("released"))
    );

    let text = scrape_until(&app, "the delete after the call", |text| {
        value(
            text,
            "precall_voice_deletions_total",
            &[("reason", "after_call")],
        ) >= 1.0
    })
    .await;

    assert_eq!(
        value(
            &text,
            "precall_voice_deletions_total",
            &[("reason", "after_call")]
        ),
        1.0
    );
    assert_eq!(fake.voice_count(), 0);
    assert_eq!(value(&text, "precall_live_clones", &[]), 0.0);
    assert_eq!(
        value(
            &text,
            "precall_upstream_calls_total",
            &[("operation", "delete"), ("outcome", "ok")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_full_account_counts_the_eviction() {
    let fake = FakeElevenLabs::builder().voice_limit(2).start().await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    let app = spawn_against_fake(&fake, &[]).await;
    ok(&app, &ivan("conv_a", Some("+31610000001"))).await;
    ok(&app, &ivan("conv_b", Some("+31610000002"))).await;
    let before = scrape(&app).await;
    assert_eq!(
        value(
            &before,
            "precall_voice_deletions_total",
            &[("reason", "evicted")]
        ),
        0.0,
        "every reason is there from the start, at 0"
    );

    ok(&app, &ivan("conv_c", Some("+31610000003"))).await;

    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            "precall_voice_deletions_total",
            &[("reason", "evicted")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "precall_upstream_calls_total",
            &[("operation", "clone"), ("outcome", "voice_limit_reached")]
        ),
        1.0
    );
    assert_eq!(value(&text, "precall_live_clones", &[]), 2.0);
}

#[tokio::test]
async fn a_clone_rolled_back_after_a_refused_agent_update_counts_a_deletion_rollback() {
    // No such agent on the account: the update is refused and the new voice deleted again.
    let fake = FakeElevenLabs::start().await;
    let app = spawn_against_fake(&fake, &[]).await;

    assert_error(
        app.post_json(&ivan("conv_rollback", None)).await,
        422,
        "AGENT_UPDATE_FAILED",
        Some("conv_rollback"),
    )
    .await;

    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            "precall_voice_deletions_total",
            &[("reason", "rollback")]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "precall_http_requests_total",
            &[("status", "422"), ("error_code", "AGENT_UPDATE_FAILED")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "precall_upstream_calls_total",
            &[
                ("operation", "update_agent"),
                ("outcome", "invalid_request")
            ]
        ),
        1.0
    );
    assert_eq!(fake.voice_count(), 0);
}

#[tokio::test]
async fn no_label_carries_caller_data_or_ids() {
    let fake = account().await;
    let app = spawn_against_fake(&fake, &[("CONVERSATION_INITIATION_TOKEN", TOKEN)]).await;
    let mut voice_ids = Vec::new();
    let known = ok(&app, &ivan("conv_secret_known_caller", Some(PHONE_NUMBER))).await;
    voice_ids.push(known["voice_id"].as_str().unwrap().to_owned());
    let anonymous = ok(&app, &ivan("conv_secret_anonymous", None)).await;
    voice_ids.push(anonymous["voice_id"].as_str().unwrap().to_owned());
    let (status, _) = status_and_json(
        app.initiate(Some(BEARER), ring(PHONE_NUMBER, "CA_secret_call"))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    status_and_json(
        app.post_call(&transcription("conv_secret_anonymous", "CA_secret_other"))
            .await,
    )
    .await;
    let missing_agent = json!({"type": "pre_call", "conversation_id": "conv_secret_bad"});
    let (status, body) = status_and_json(app.post_json(&body_of(&missing_agent)).await).await;
    assert_eq!(
        (status.as_u16(), &body["error_code"]),
        (400, &json!("INVALID_PAYLOAD"))
    );

    let text = scrape_until(&app, "the delete after the call", |text| {
        value(
            text,
            "precall_voice_deletions_total",
            &[("reason", "after_call")],
        ) >= 1.0
    })
    .await;

    let digits = PHONE_NUMBER.trim_start_matches('+');
    let mut secrets = vec![
        "conv_secret",
        PHONE_NUMBER,
        digits,
        "Ivan",
        AGENT,
        "CA_secret",
        "fake_voice",
    ];
    secrets.extend(voice_ids.iter().map(String::as_str));
    for secret in secrets {
        assert!(
            !text.contains(secret),
            "{secret:?} appears in the exposition:\n{text}"
        );
    }
    assert_eq!(
        value(
            &text,
            "precall_http_requests_total",
            &[
                ("endpoint", "/webhook/conversation-initiation"),
                ("status", "200")
            ]
        ),
        1.0
    );
}

/// A server whose breaker opens after two failures and stays open a minute, in front of
/// `cloner`.
async fn app_with_breaker(cloner: &Arc<ObservedCloner>) -> TestApp {
    TestApp::builder()
        .cloner(Arc::clone(cloner) as _)
        .var("VOICE_REUSE_MAX_AGE_SECONDS", "0")
        .var("CIRCUIT_BREAKER_THRESHOLD", "2")
        .var("CIRCUIT_BREAKER_COOLDOWN_SECONDS", "60")
        .spawn()
        .await
}

#[tokio::test]
async fn the_breaker_gauge_shows_open_once_the_breaker_opens() {
    let cloner = ObservedCloner::new();
    let app = app_with_breaker(&cloner).await;
    assert_eq!(
        value(&scrape(&app).await, "precall_circuit_breaker_state", &[]),
        0.0,
        "closed"
    );
    cloner
        .stand_in
        .fail_clones_with(Some(UpstreamError::Unavailable(
            "clone voice: ElevenLabs answered 503 after 3 retries".into(),
        )));

    for i in 0..2 {
        let id = format!("conv_down_{i}");
        let body = body_of(&json_payload(&id, Some(&wav(5.0, 16_000))));
        assert_error(
            app.post_json(&body).await,
            502,
            "UPSTREAM_UNAVAILABLE",
            Some(&id),
        )
        .await;
    }

    let text = scrape(&app).await;
    assert_eq!(
        value(&text, "precall_circuit_breaker_state", &[]),
        1.0,
        "open: {text}"
    );
    assert_eq!(
        value(
            &text,
            "precall_upstream_calls_total",
            &[("operation", "clone"), ("outcome", "unavailable")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "precall_http_requests_total",
            &[("status", "502"), ("error_code", "UPSTREAM_UNAVAILABLE")]
        ),
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_gauges_show_clones_in_flight_and_waiting() {
    let cloner = ObservedCloner::new();
    let app = Arc::new(
        TestApp::builder()
            .cloner(Arc::clone(&cloner) as _)
            .var("VOICE_REUSE_MAX_AGE_SECONDS", "0")
            .var("MAX_CONCURRENT_CLONES", "1")
            .spawn()
            .await,
    );
    let idle = scrape(&app).await;
    assert!(has(&idle, "precall_clones_in_flight") && has(&idle, "precall_clones_waiting"));
    assert_eq!(value(&idle, "precall_clones_in_flight", &[]), 0.0);
    cloner.close_gate();

    let webhooks: Vec<_> = ["conv_first", "conv_second"]
        .into_iter()
        .map(|id| {
            let app = Arc::clone(&app);
            let body = body_of(&json_payload(id, Some(&wav(3.5, 8_000))));
            tokio::spawn(async move { app.post_json(&body).await.status() })
        })
        .collect();
    let text = scrape_until(&app, "one clone in flight and one waiting", |text| {
        value(text, "precall_clones_waiting", &[]) == 1.0
            && value(text, "precall_clones_in_flight", &[]) == 1.0
    })
    .await;
    assert_eq!(value(&text, "precall_clones_in_flight", &[]), 1.0);

    cloner.open_gate();
    for webhook in webhooks {
        assert_eq!(webhook.await.unwrap(), 200);
    }
    let text = scrape(&app).await;
    assert_eq!(value(&text, "precall_clones_in_flight", &[]), 0.0);
    assert_eq!(value(&text, "precall_clones_waiting", &[]), 0.0);
}
