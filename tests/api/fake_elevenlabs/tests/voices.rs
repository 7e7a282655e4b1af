//! Voices: cloning, listing, searching, paging, deleting, the slot limit, the add/edit budget,
//! the strict clone form, the subscription numbers and the API key.

use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::{Value, json};

use super::{
    add_voice, add_voice_with, client, clone_form, created, ids, list, request, send, url,
};
use crate::fake_elevenlabs::{Answer, FakeElevenLabs, FakeSample, Fault, Route, Subscription};

#[tokio::test]
async fn a_cloned_voice_stays_on_the_account_with_what_it_was_created_with_until_deleted() {
    let fake = FakeElevenLabs::builder()
        .now_unix(1_765_370_096)
        .start()
        .await;

    let (status, body) = add_voice(&fake, "Ivan_Clone_20251210_123456", "conv_1").await;

    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"voice_id": "fake_voice_000001", "requires_verification": false})
    );
    let voice = fake.voice("fake_voice_000001").expect("the voice exists");
    assert_eq!(voice.name, "Ivan_Clone_20251210_123456");
    assert_eq!(voice.category, "cloned");
    assert_eq!(voice.label("conversation_id"), Some("conv_1"));
    assert_eq!(voice.label("source"), Some("precall-webhook"));
    assert_eq!(
        voice.description.as_deref(),
        Some("Pre-call voice clone Ivan_Clone_20251210_123456")
    );
    assert_eq!(voice.created_at_unix, 1_765_370_096);
    assert!(!voice.remove_background_noise);
    assert_eq!(
        voice.samples,
        vec![FakeSample {
            file_name: "sample.wav".into(),
            content_type: Some("audio/wav".into()),
            size_bytes: 1234
        }]
    );
    assert_eq!(fake.voices_for_conversation("conv_1"), vec![voice]);

    let (status, body) = send(request(
        &fake,
        Method::DELETE,
        "/v1/voices/fake_voice_000001",
    ))
    .await;
    assert_eq!((status.as_u16(), body), (200, json!({"status": "ok"})));
    assert_eq!(fake.voice_count(), 0);

    let (status, body) = send(request(
        &fake,
        Method::DELETE,
        "/v1/voices/fake_voice_000001",
    ))
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["detail"]["status"], "voice_not_found", "{body}");
}

#[tokio::test]
async fn the_voice_list_shows_each_voice_as_elevenlabs_does_and_searches_names_descriptions_and_labels()
 {
    let fake = FakeElevenLabs::builder()
        .now_unix(1_700_000_000)
        .start()
        .await;
    let ivan = created(&fake, "Ivan_Clone_20251210_123456", "conv_ivan").await;
    let foreign = fake.add_foreign_voice("Narrator", &[("accent", "British")]);

    let (status, all) = list(&fake, "category=cloned&voice_type=personal&page_size=100").await;
    assert_eq!(status, 200);
    assert_eq!(all["total_count"], 2);
    assert_eq!(all["has_more"], false);
    assert_eq!(all["next_page_token"], Value::Null);
    assert_eq!(
        all["voices"][0],
        json!({
            "voice_id": ivan,
            "name": "Ivan_Clone_20251210_123456",
            "category": "cloned",
            "labels": {"source": "precall-webhook", "conversation_id": "conv_ivan"},
            "description": "Pre-call voice clone Ivan_Clone_20251210_123456",
            "created_at_unix": 1_700_000_000
        })
    );
    assert_eq!(
        ids(&list(&fake, "search=ivan_CLONE").await.1),
        [ivan.as_str()]
    );
    assert_eq!(
        ids(&list(&fake, "search=pre-call").await.1),
        [ivan.as_str()]
    );
    assert_eq!(
        ids(&list(&fake, "search=conv_ivan").await.1),
        [ivan.as_str()]
    );
    assert_eq!(
        ids(&list(&fake, "search=british").await.1),
        [foreign.as_str()]
    );
    assert_eq!(list(&fake, "search=nobody").await.1["total_count"], 0);
    assert_eq!(list(&fake, "category=premade").await.1["total_count"], 0);
    assert_eq!(list(&fake, "voice_type=default").await.1["total_count"], 0);
}

#[tokio::test]
async fn the_voice_list_is_paged_in_creation_order_so_a_client_reading_one_page_misses_voices() {
    let fake = FakeElevenLabs::start().await;
    let mut all = Vec::new();
    for n in 0..12 {
        all.push(fake.add_foreign_voice(&format!("voice {n}"), &[]));
    }

    let (_, first) = list(&fake, "").await;
    assert_eq!(ids(&first), all[..10], "10 voices per page by default");
    assert_eq!(first["has_more"], true);
    assert_eq!(first["total_count"], 12);
    let token = first["next_page_token"]
        .as_str()
        .expect("a next page token");

    // A voice deleted meanwhile does not shift the next page.
    send(request(
        &fake,
        Method::DELETE,
        &format!("/v1/voices/{}", all[3]),
    ))
    .await;
    let (_, second) = list(&fake, &format!("next_page_token={token}")).await;
    assert_eq!(ids(&second), all[10..]);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["next_page_token"], Value::Null);

    let (_, small) = list(&fake, "page_size=5").await;
    assert_eq!(
        ids(&small),
        all.iter()
            .filter(|v| **v != all[3])
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_voice_list_refuses_bad_page_sizes_unknown_tokens_and_parameters_it_does_not_model() {
    let fake = FakeElevenLabs::start().await;
    for query in [
        "page_size=0",
        "page_size=101",
        "page_size=ten",
        "next_page_token=made_up",
        "voice_type=mine",
        "category=cheap",
        "sort=name",
    ] {
        let (status, body) = list(&fake, query).await;
        assert_eq!(status, 422, "{query}: {body}");
        let key = query.split('=').next().unwrap_or_default();
        assert_eq!(
            body["detail"][0]["loc"],
            json!(["query", key]),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn a_clone_whose_files_part_is_text_is_422_expected_upload_file_and_creates_nothing() {
    let fake = FakeElevenLabs::start().await;
    let form = Form::new().text("name", "Ivan").text("files", "not a file");

    let response = add_voice_with(&client(), &fake, form)
        .await
        .expect("an answer");

    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(
        body,
        json!({"detail": [{"loc": ["body", "files", 0],
            "msg": "Expected UploadFile, received: <class 'str'>", "type": "value_error"}]})
    );
    assert_eq!(fake.voice_count(), 0);
    assert_eq!(fake.subscription().voice_add_edit_counter, 0);
}

#[tokio::test]
async fn a_clone_without_name_or_files_or_with_bad_labels_is_422_naming_each_field() {
    let fake = FakeElevenLabs::start().await;
    let cases: [(Form, Value); 3] = [
        (
            Form::new().text("description", "nothing else"),
            json!([["body", "name"], ["body", "files"]]),
        ),
        (
            clone_form("Ivan", &json!({})).text("labels", "not json"),
            json!([["body", "labels"]]),
        ),
        (
            clone_form("Ivan", &json!({"n": 1})),
            json!([["body", "labels"]]),
        ),
    ];
    for (form, locs) in cases {
        let response = add_voice_with(&client(), &fake, form)
            .await
            .expect("an answer");
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.expect("a JSON body");
        let actual: Vec<&Value> = body["detail"]
            .as_array()
            .expect("a list of errors")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        assert_eq!(json!(actual), locs, "{body}");
    }
    let not_multipart = client()
        .post(url(&fake, "/v1/voices/add"))
        .header("xi-api-key", fake.api_key())
        .json(&json!({"name": "Ivan"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(not_multipart.status(), 422);
    assert_eq!(fake.voice_count(), 0);
}

#[tokio::test]
async fn a_full_account_refuses_a_clone_with_400_voice_limit_reached_counting_foreign_voices() {
    let fake = FakeElevenLabs::builder().voice_limit(2).start().await;
    fake.add_foreign_voice("someone else's", &[]);
    created(&fake, "first", "conv_1").await;

    let (status, body) = add_voice(&fake, "second", "conv_2").await;

    assert_eq!(status, 400);
    assert_eq!(body["detail"]["status"], "voice_limit_reached", "{body}");
    assert_eq!(fake.voice_count(), 2);
    assert_eq!(
        fake.subscription(),
        Subscription {
            voice_slots_used: 2,
            voice_limit: 2,
            voice_add_edit_counter: 1,
            max_voice_add_edits: 95
        },
        "a refused clone spends no add/edit"
    );
}

#[tokio::test]
async fn clones_spend_the_monthly_add_edit_budget_and_deleting_refunds_nothing() {
    let fake = FakeElevenLabs::builder()
        .max_voice_add_edits(2)
        .start()
        .await;
    let first = created(&fake, "first", "conv_1").await;
    send(request(
        &fake,
        Method::DELETE,
        &format!("/v1/voices/{first}"),
    ))
    .await;
    created(&fake, "second", "conv_2").await;

    let (status, body) = add_voice(&fake, "third", "conv_3").await;

    assert_eq!(status, 403);
    assert_eq!(
        body["detail"]["status"], "voice_add_edit_limit_reached",
        "{body}"
    );
    assert_eq!(fake.voice_count(), 1);
    let (status, subscription) = send(request(&fake, Method::GET, "/v1/user/subscription")).await;
    assert_eq!(status, 200);
    for (field, value) in [
        ("voice_slots_used", 1),
        ("voice_limit", 10),
        ("voice_add_edit_counter", 2),
        ("max_voice_add_edits", 2),
    ] {
        assert_eq!(subscription[field], value, "{field} in {subscription}");
    }
    assert_eq!(subscription["can_use_instant_voice_cloning"], true);
    assert_eq!(subscription["tier"], "starter");

    fake.set_max_voice_add_edits(3);
    fake.set_voice_limit(1);
    assert_eq!(
        add_voice(&fake, "fourth", "conv_4").await.0,
        400,
        "the slot is taken"
    );
}

#[tokio::test]
async fn a_request_without_the_right_api_key_is_401_invalid_api_key_and_changes_nothing() {
    let fake = FakeElevenLabs::builder().api_key("sk_right").start().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::status(503)));
    let labels = json!({"conversation_id": "conv_1"});

    for key in [Some("sk_wrong"), None] {
        let builder = client().post(url(&fake, "/v1/voices/add"));
        let builder = match key {
            Some(key) => builder.header("xi-api-key", key),
            None => builder,
        };
        let response = builder
            .multipart(clone_form("Ivan", &labels))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(
            body,
            json!({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        );
    }
    assert_eq!(fake.voice_count(), 0);
    assert_eq!(
        fake.on(Route::AddVoice).pending(),
        1,
        "no fault was used up"
    );
    assert_eq!(fake.request_count(Route::AddVoice), 2);
}

#[tokio::test]
async fn a_request_the_fake_does_not_model_is_404_with_a_detail_and_logged() {
    let fake = FakeElevenLabs::start().await;

    let (status, body) = send(request(&fake, Method::GET, "/v1/voices/some_voice")).await;

    assert_eq!(status, 404);
    assert!(body["detail"].is_string(), "{body}");
    let unmodelled = fake.unmodelled_requests();
    assert_eq!(unmodelled.len(), 1);
    assert_eq!(unmodelled[0].path, "/v1/voices/some_voice");
}

#[tokio::test]
async fn the_fakes_clock_stamps_new_voices_and_can_be_set_and_advanced() {
    let fake = FakeElevenLabs::builder()
        .voice_add_edit_counter(90)
        .start()
        .await;
    fake.set_now_unix(1_000_000);
    created(&fake, "first", "conv_1").await;
    fake.advance_clock(900);
    created(&fake, "second", "conv_2").await;

    assert_eq!(fake.now_unix(), 1_000_900);
    let stamps: Vec<(String, i64)> = fake
        .voices()
        .into_iter()
        .map(|v| (v.name, v.created_at_unix))
        .collect();
    assert_eq!(
        stamps,
        [("first".into(), 1_000_000), ("second".into(), 1_000_900)]
    );
    assert_eq!(fake.subscription().voice_add_edit_counter, 92);
    list(&fake, "search=first").await;
    let log = fake.requests();
    assert_eq!(
        log.iter()
            .map(|e| (e.method.as_str(), e.path.as_str(), e.query.as_deref()))
            .collect::<Vec<_>>(),
        [
            ("POST", "/v1/voices/add", None),
            ("POST", "/v1/voices/add", None),
            ("GET", "/v2/voices", Some("search=first")),
        ]
    );
}
