//! Failures that may leave a voice behind, and what cleans it up: a clone whose voice appears
//! only after the deadline (the webhook is answered 502 at once; the clean-up in the background
//! keeps looking and deletes it), a redelivery that arrives while that voice exists (it adopts
//! the voice; the clean-up leaves it alone), every attempt lost with voices appearing one by
//! one, a look-up that fails, and a late duplicate after a success.

use std::time::Duration;

use super::{
    account, assert_none_of_ours_left, assert_the_call_got_the_only_voice, eventually, ivan,
    post_ivan,
};
use crate::fake_elevenlabs::{Answer, Fault, Gate, Route};
use crate::helpers::{assert_error, spawn_against_fake};

/// A deadline that fits exactly one clone attempt: after the first, less than the minimum
/// attempt time is left.
const ONE_ATTEMPT: [(&str, &str); 2] = [
    ("ELEVENLABS_TIMEOUT_SECONDS", "1"),
    ("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "0.8"),
];

#[tokio::test]
async fn a_voice_made_only_after_the_deadline_is_502_at_once_and_then_deleted_by_the_clean_up() {
    let conversation = "conv_once_after_deadline";
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_after(Duration::from_millis(1_500)));
    let app = spawn_against_fake(&fake, &ONE_ATTEMPT).await;

    let response = app.post_json(&ivan(conversation)).await;

    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    eventually("the late voice to be made and deleted again", || {
        fake.subscription().voice_add_edit_counter == 1
            && fake.voices_for_conversation(conversation).is_empty()
    })
    .await;
    assert_none_of_ours_left(&fake, conversation);
    assert_eq!(fake.request_count(Route::AddVoice), 1, "one attempt fits");
    assert_eq!(fake.request_count(Route::DeleteVoice), 1);
    assert_eq!(fake.request_count(Route::PatchAgent), 0);
}

#[tokio::test]
async fn a_redelivery_while_the_late_voice_exists_adopts_it_and_the_clean_up_leaves_it_alone() {
    let conversation = "conv_once_redelivered";
    let fake = account().await;
    let gate = Gate::new();
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).held(&gate));
    let app = spawn_against_fake(&fake, &ONE_ATTEMPT).await;

    let first = app.post_json(&ivan(conversation)).await;
    assert_error(first, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    // The clean-up's first look found nothing; its next one is a poll interval away. The voice
    // appears now, and the sender redelivers at once.
    eventually("the clean-up's first look", || {
        fake.request_count(Route::ListVoices) >= 1
    })
    .await;
    gate.open();
    eventually("the held clone to make its voice", || {
        !fake.voices_for_conversation(conversation).is_empty()
    })
    .await;
    let (status, answer) = post_ivan(&app, conversation).await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, conversation, &answer);
    assert_eq!(
        fake.request_count(Route::AddVoice),
        1,
        "the redelivery adopted the voice instead of cloning"
    );
    assert_eq!(fake.request_count(Route::DeleteVoice), 0);
    // The clean-up looks again (its next poll comes before the second poll of the
    // redelivery's own look for late duplicates): it finds the voice of a completed
    // conversation and leaves it to that delivery, without so much as reading the agent.
    let looks = fake.request_count(Route::ListVoices);
    let agent_reads = fake.request_count(Route::GetAgent);
    eventually("the clean-up's next look", || {
        fake.request_count(Route::ListVoices) >= looks + 2
    })
    .await;
    assert_the_call_got_the_only_voice(&fake, conversation, &answer);
    assert_eq!(fake.request_count(Route::GetAgent), agent_reads);
    assert_eq!(fake.request_count(Route::DeleteVoice), 0);
}

#[tokio::test]
async fn when_every_clone_attempt_times_out_and_their_voices_appear_one_by_one_the_clean_up_deletes_them_all()
 {
    let conversation = "conv_once_all_lost";
    let fake = account().await;
    // Three attempts (two retries), each timing out long before its voice appears; the voices
    // appear after the last look-up, the last one a clean-up poll interval after the first.
    fake.on(Route::AddVoice)
        .next(Fault::act_after(Duration::from_secs(3)))
        .next(Fault::act_after(Duration::from_secs(3)))
        .next(Fault::act_after(Duration::from_millis(3_500)));
    let app = spawn_against_fake(
        &fake,
        &[
            ("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "0.5"),
            ("ELEVENLABS_MAX_RETRIES", "2"),
            ("ELEVENLABS_TIMEOUT_SECONDS", "4"),
            ("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "0.5"),
        ],
    )
    .await;

    let response = app.post_json(&ivan(conversation)).await;

    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    eventually("all three late voices to be made and deleted again", || {
        fake.subscription().voice_add_edit_counter == 3
            && fake.voices_for_conversation(conversation).is_empty()
    })
    .await;
    assert_none_of_ours_left(&fake, conversation);
    assert_eq!(fake.request_count(Route::AddVoice), 3);
    assert_eq!(fake.request_count(Route::DeleteVoice), 3);
    assert_eq!(fake.request_count(Route::PatchAgent), 0);
}

#[tokio::test]
async fn a_clone_answered_503_whose_look_up_fails_is_not_sent_again_and_the_clean_up_deletes_its_voice()
 {
    let conversation = "conv_once_look_up_fails";
    let fake = account().await;
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::status(503)));
    // The use case's look-up (one retry) fails; the clean-up's looks work.
    fake.on(Route::ListVoices)
        .next(Fault::without_acting(Answer::status(500)))
        .next(Fault::without_acting(Answer::status(500)));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_MAX_RETRIES", "1")]).await;

    let response = app.post_json(&ivan(conversation)).await;

    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    eventually("the voice to be deleted", || {
        fake.voices_for_conversation(conversation).is_empty()
    })
    .await;
    assert_none_of_ours_left(&fake, conversation);
    assert_eq!(
        fake.request_count(Route::AddVoice),
        1,
        "no clone without a look"
    );
    assert_eq!(fake.subscription().voice_add_edit_counter, 1);
    assert_eq!(fake.request_count(Route::DeleteVoice), 1);
}

#[tokio::test]
async fn a_late_duplicate_of_a_clone_sent_twice_is_deleted_and_the_agents_voice_kept() {
    let conversation = "conv_once_late_duplicate";
    let fake = account().await;
    // The first attempt times out; its voice appears after the look-up, when the second
    // attempt has succeeded.
    fake.on(Route::AddVoice)
        .next(Fault::act_after(Duration::from_millis(2_500)));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "1")]).await;

    let (status, answer) = post_ivan(&app, conversation).await;

    assert_eq!(status, 200, "{answer}");
    let kept = answer["voice_id"].as_str().expect("a voice id").to_owned();
    eventually("the late duplicate to appear and be deleted", || {
        fake.subscription().voice_add_edit_counter == 2
            && fake.voices_for_conversation(conversation).len() == 1
    })
    .await;
    let voice = assert_the_call_got_the_only_voice(&fake, conversation, &answer);
    assert_eq!(voice.voice_id, kept);
    assert_eq!(fake.request_count(Route::AddVoice), 2);
    assert_eq!(fake.request_count(Route::DeleteVoice), 1);
}
