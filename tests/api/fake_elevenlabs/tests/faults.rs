//! Scripted faults: each kind, what the client sees and what the account keeps; FIFO order,
//! standing faults, and held requests ending with the fake.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use super::{
    add_voice, add_voice_with, client, client_with, clone_form, created, list, request, send,
};
use crate::fake_elevenlabs::{Answer, FakeElevenLabs, Fault, Gate, Outcome, Route};

/// Ivan's clone for `conv_1`, sent by `client`.
async fn clone_ivan(
    fake: &FakeElevenLabs,
    client: &reqwest::Client,
) -> reqwest::Result<reqwest::Response> {
    let labels = json!({"conversation_id": "conv_1"});
    add_voice_with(client, fake, clone_form("Ivan", &labels)).await
}

/// The kind of the I/O error under a transport error, if there is one.
fn io_error_kind(error: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// A client that gives up after `seconds`.
fn impatient(seconds: u64) -> reqwest::Client {
    client_with(reqwest::Client::builder().timeout(Duration::from_secs(seconds)))
}

#[tokio::test]
async fn a_voice_created_then_answered_503_exists_and_the_client_sees_the_503_and_its_retry_after()
{
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice).next(Fault::act_then(
        Answer::status(503).header("retry-after", "2"),
    ));

    let response = clone_ivan(&fake, &client()).await.expect("an answer");

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "2");
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["detail"]["status"], "service_unavailable", "{body}");
    let voice = fake.assert_at_most_one_voice_for("conv_1");
    assert!(voice.is_some(), "the voice was created");
    let log = fake.requests();
    assert_eq!(log[0].acted, Some(200));
    assert_eq!(log[0].outcome, Outcome::Answered(503));
    assert!(log[0].fault.is_some());

    assert_eq!(
        add_voice(&fake, "Ivan", "conv_2").await.0,
        200,
        "the fault was used up"
    );
    assert_eq!(fake.on(Route::AddVoice).pending(), 0);
}

#[tokio::test]
async fn refusals_without_acting_change_nothing_and_queued_faults_apply_in_order() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice)
        .next(Fault::too_many_concurrent_requests())
        .next(Fault::service_unavailable(7));

    let first = clone_ivan(&fake, &client()).await.expect("an answer");
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["maximum-concurrent-requests"], "5");
    let body: serde_json::Value = first.json().await.expect("a JSON body");
    assert_eq!(body["detail"]["status"], "too_many_concurrent_requests");
    let second = clone_ivan(&fake, &client()).await.expect("an answer");
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "7");
    assert_eq!(fake.voice_count(), 0, "nothing was created");
    assert_eq!(fake.subscription().voice_add_edit_counter, 0);

    assert_eq!(
        clone_ivan(&fake, &client())
            .await
            .expect("an answer")
            .status(),
        200
    );
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(
        fake.requests().iter().map(|e| e.acted).collect::<Vec<_>>(),
        [None, None, Some(200)]
    );
}

#[tokio::test]
async fn a_standing_fault_follows_the_queued_ones_and_applies_until_cleared() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::ListVoices)
        .always(Fault::without_acting(Answer::status(500)))
        .next(Fault::without_acting(Answer::status(502)));

    assert_eq!(list(&fake, "").await.0, 502);
    assert_eq!(list(&fake, "").await.0, 500);
    assert_eq!(list(&fake, "").await.0, 500);
    fake.on(Route::ListVoices).clear();
    assert_eq!(list(&fake, "").await.0, 200);
    assert_eq!(fake.request_count(Route::ListVoices), 4);
}

#[tokio::test]
async fn a_voice_created_then_reset_gives_the_client_a_connection_reset_and_the_voice_exists() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Reset));

    let error = clone_ivan(&fake, &client()).await.expect_err("no answer");

    assert_eq!(
        io_error_kind(&error),
        Some(io::ErrorKind::ConnectionReset),
        "{error:?}"
    );
    assert!(fake.assert_at_most_one_voice_for("conv_1").is_some());
    assert_eq!(fake.requests()[0].outcome, Outcome::Reset);
}

#[tokio::test]
async fn a_voice_created_then_closed_gives_the_client_a_closed_connection_and_the_voice_exists() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Close));

    let error = clone_ivan(&fake, &client()).await.expect_err("no answer");

    assert!(!error.is_timeout(), "{error:?}");
    assert!(
        format!("{error:?}").contains("IncompleteMessage"),
        "closed before a response: {error:?}"
    );
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(fake.requests()[0].outcome, Outcome::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_voice_created_then_never_answered_makes_the_client_time_out_and_the_voice_exists() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice).next(Fault::act_then(Answer::Hang));

    let error = clone_ivan(&fake, &impatient(5))
        .await
        .expect_err("no answer");

    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(fake.requests()[0].outcome, Outcome::NoAnswer);
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_arrives_after_its_delay_and_a_less_patient_client_gives_up_on_a_real_voice()
{
    let fake = FakeElevenLabs::start().await;
    let late = Fault::act_then(Answer::Real).after(Duration::from_secs(30));
    fake.on(Route::AddVoice).next(late.clone()).next(late);

    let started = Instant::now();
    let response = clone_ivan(&fake, &client()).await.expect("an answer");
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_secs(30));

    let error = clone_ivan(&fake, &impatient(20))
        .await
        .expect_err("too late");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(fake.voice_count(), 2, "both voices were created");
}

#[tokio::test(start_paused = true)]
async fn a_slow_success_creates_the_voice_after_its_delay_even_when_the_client_has_given_up() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_after(Duration::from_secs(10)));

    let error = clone_ivan(&fake, &impatient(1))
        .await
        .expect_err("too slow");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(fake.voice_count(), 0, "not yet");

    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(fake.voice_count(), 1, "created after the delay");
    assert_eq!(fake.requests()[0].acted, Some(200));
}

#[tokio::test]
async fn a_held_request_acts_once_its_gate_opens_even_when_the_client_has_given_up() {
    let fake = FakeElevenLabs::start().await;
    let gate = Gate::new();
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).held(&gate));

    let error = clone_ivan(&fake, &impatient(1))
        .await
        .expect_err("held past the client's patience");
    assert!(error.is_timeout(), "{error:?}");
    // Not a timing assertion: the arrival was recorded before the client gave up.
    tokio::time::timeout(Duration::from_secs(10), gate.arrived())
        .await
        .expect("the request reached the gate");
    assert_eq!(fake.voice_count(), 0, "nothing happens while held");

    gate.open();
    tokio::time::timeout(Duration::from_secs(10), async {
        while fake.voice_count() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the voice is created once the gate opens");
    assert_eq!(fake.requests()[0].acted, Some(200));
}

#[tokio::test]
async fn a_held_request_is_logged_and_acts_when_its_gate_opens() {
    let fake = FakeElevenLabs::start().await;
    let gate = Gate::new();
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).held(&gate));

    let sent = tokio::spawn({
        let client = client();
        let labels = json!({"conversation_id": "conv_1"});
        let request = client
            .post(format!("{}/v1/voices/add", fake.uri()))
            .header("xi-api-key", fake.api_key())
            .multipart(clone_form("Ivan", &labels));
        request.send()
    });
    tokio::time::timeout(Duration::from_secs(10), gate.arrived())
        .await
        .expect("the request reaches the gate");
    assert_eq!(fake.voice_count(), 0, "nothing happens while held");
    assert_eq!(
        fake.request_count(Route::AddVoice),
        0,
        "logged once decided"
    );

    gate.open();
    let response = tokio::time::timeout(Duration::from_secs(10), sent)
        .await
        .expect("answered once the gate opens")
        .expect("the request task completes")
        .expect("an answer");
    assert_eq!(response.status(), 200);
    assert_eq!(fake.voice_count(), 1);
    assert_eq!(fake.requests()[0].acted, Some(200));
}

#[tokio::test]
async fn a_voice_created_then_answered_with_garbage_or_the_wrong_shape_exists() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::garbage()))
        .next(Fault::act_then(Answer::json(
            200,
            json!({"voice_id": 12345}),
        )));

    let garbage = clone_ivan(&fake, &client()).await.expect("an answer");
    assert_eq!(garbage.status(), 200);
    assert_eq!(garbage.headers()["content-type"], "text/html");
    let text = garbage.text().await.expect("a body");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );

    let (status, body) = add_voice(&fake, "Ivan", "conv_1").await;
    assert_eq!((status.as_u16(), body), (200, json!({"voice_id": 12345})));
    assert_eq!(fake.voices_for_conversation("conv_1").len(), 2);
}

#[tokio::test]
async fn faults_apply_to_deletes_and_agent_updates_too() {
    let fake = FakeElevenLabs::start().await;
    let voice = created(&fake, "Ivan", "conv_1").await;
    fake.add_agent("agent_1", "premade_voice", "Hello");
    fake.on(Route::DeleteVoice)
        .next(Fault::act_then(Answer::status(500)));
    fake.on(Route::PatchAgent)
        .next(Fault::act_then(Answer::Reset));
    fake.on(Route::GetAgent)
        .next(Fault::without_acting(Answer::status(503)));

    let path = format!("/v1/voices/{voice}");
    assert_eq!(send(request(&fake, Method::DELETE, &path)).await.0, 500);
    assert_eq!(fake.voice_count(), 0, "deleted all the same");

    let patch = json!({"conversation_config": {"tts": {"voice_id": voice}}});
    let error = request(&fake, Method::PATCH, "/v1/convai/agents/agent_1")
        .json(&patch)
        .send()
        .await
        .expect_err("reset");
    assert_eq!(io_error_kind(&error), Some(io::ErrorKind::ConnectionReset));
    assert_eq!(
        fake.agent_voice_id("agent_1"),
        Some(voice),
        "patched all the same"
    );

    let (status, _) = send(request(&fake, Method::GET, "/v1/convai/agents/agent_1")).await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn dropping_the_fake_ends_a_request_it_holds() {
    let fake = FakeElevenLabs::start().await;
    fake.on(Route::Subscription)
        .next(Fault::without_acting(Answer::Hang));
    let held = tokio::spawn(request(&fake, Method::GET, "/v1/user/subscription").send());
    // Not a timing assertion: waits for the request to arrive, or fails the test.
    tokio::time::timeout(Duration::from_secs(10), async {
        while fake.request_count(Route::Subscription) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the request arrives");

    drop(fake);

    let outcome = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("the held request ends with the fake")
        .expect("the request task completes");
    assert!(outcome.is_err(), "no answer: {outcome:?}");
}

#[test]
#[should_panic(expected = "Answer::Real needs the operation")]
fn a_real_answer_without_acting_is_refused_when_scripted() {
    let _ = Fault::without_acting(Answer::Real);
}
