//! Answers to `POST /v1/voices/add` that may have been lost after ElevenLabs made the voice: an
//! invalid or unreadable 2xx, an answer later than the attempt's timeout, a reset connection, a
//! 5xx. Each is uncertain: the service looks the voice up by its conversation label and adopts
//! it rather than cloning a second one; a 503 that made nothing is retried after its
//! `Retry-After`, and a 429 (which certainly made nothing) is sent again at once, whole.

use std::time::Duration;

use serde_json::json;

use super::{account, assert_the_call_got_the_only_voice, post_ivan};
use crate::fake_elevenlabs::{Answer, Fault, Route};
use crate::helpers::spawn_against_fake;

#[tokio::test]
async fn a_clone_that_made_the_voice_but_answered_an_integer_voice_id_is_looked_up_and_adopted() {
    let fake = account().await;
    fake.on(Route::AddVoice).next(Fault::act_then(Answer::json(
        200,
        json!({"voice_id": 12345}),
    )));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_integer_id").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_integer_id", &answer);
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
    assert!(fake.request_count(Route::ListVoices) >= 1, "looked up");
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_that_made_the_voice_but_answered_a_body_that_is_not_json_is_looked_up_and_adopted()
{
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::garbage()));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_not_json").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_not_json", &answer);
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_that_made_the_voice_but_answered_after_the_attempt_timeout_is_looked_up_and_adopted()
 {
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).after(Duration::from_secs(5)));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "0.5")]).await;

    let (status, answer) = post_ivan(&app, "conv_once_late_answer").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_late_answer", &answer);
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_that_made_the_voice_then_reset_the_connection_is_looked_up_and_adopted() {
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Reset));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_reset").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_reset", &answer);
    assert_eq!(fake.request_count(Route::AddVoice), 1, "not cloned twice");
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_that_made_the_voice_and_answers_503_every_time_is_sent_once_and_its_voice_adopted()
{
    let fake = account().await;
    fake.on(Route::AddVoice)
        .always(Fault::act_then(Answer::status(503)));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_503_always").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_503_always", &answer);
    assert_eq!(
        fake.request_count(Route::AddVoice),
        1,
        "the voice was found before a second clone"
    );
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_answered_503_with_retry_after_without_acting_is_sent_again_no_sooner_than_it_says()
{
    let fake = account().await;
    fake.on(Route::AddVoice).next(Fault::service_unavailable(2));
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_retry_after").await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_retry_after", &answer);
    let clones = fake.requests_to(Route::AddVoice);
    assert_eq!(clones.len(), 2, "{clones:#?}");
    assert_eq!(clones[0].acted, None, "the 503 made nothing");
    let pause = clones[1].received_at - clones[0].received_at;
    assert!(
        pause >= Duration::from_secs(2),
        "the clone was sent again {pause:?} after a 503 asking for 2 s"
    );
    assert!(
        fake.request_count(Route::ListVoices) >= 1,
        "looked up before cloning again"
    );
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}

#[tokio::test]
async fn a_clone_refused_429_without_acting_is_sent_again_whole_and_makes_the_only_voice() {
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::too_many_concurrent_requests());
    let app = spawn_against_fake(&fake, &[]).await;

    let (status, answer) = post_ivan(&app, "conv_once_429").await;

    // A 429 certainly made nothing: the adapter sends the clone again at once, with a form of
    // its own (the first one was consumed), and the account's voice comes from that second one.
    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, "conv_once_429", &answer);
    let clones = fake.requests_to(Route::AddVoice);
    assert_eq!(clones.len(), 2, "{clones:#?}");
    assert_eq!(clones[0].acted, None, "the 429 made nothing");
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
}
