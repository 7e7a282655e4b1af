//! Answers to `PATCH /v1/convai/agents/{id}` that may have been lost. The agent is read back
//! (`GET /v1/convai/agents/{id}`) before anything is undone: an update that was applied is a
//! success and its voice stays; one that was not is rolled back; and when the agent cannot be
//! read, the voice it may be speaking with is kept rather than deleted blindly.

use super::{
    AGENT_ID, account, assert_none_of_ours_left, assert_the_call_got_the_only_voice, ivan,
    post_ivan,
};
use crate::fake_elevenlabs::{Answer, Fault, Route};
use crate::helpers::{assert_error, spawn_against_fake};

#[tokio::test]
async fn an_agent_update_applied_but_answered_503_every_time_is_read_back_and_the_voice_kept() {
    let conversation = "conv_once_patch_applied";
    let fake = account().await;
    fake.on(Route::PatchAgent)
        .always(Fault::act_then(Answer::status(503)));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_MAX_RETRIES", "1")]).await;

    let (status, answer) = post_ivan(&app, conversation).await;

    assert_eq!(status, 200, "{answer}");
    assert_the_call_got_the_only_voice(&fake, conversation, &answer);
    assert_eq!(
        fake.agent_first_message(AGENT_ID).as_deref(),
        Some("Hallo Ivan, fijn dat je belt!")
    );
    assert_eq!(
        fake.request_count(Route::PatchAgent),
        2,
        "sent, then retried"
    );
    assert!(fake.request_count(Route::GetAgent) >= 1, "read back");
    assert_eq!(fake.request_count(Route::DeleteVoice), 0);
}

#[tokio::test]
async fn an_agent_update_answered_503_every_time_without_acting_is_read_back_then_502_and_the_voice_deleted()
 {
    let conversation = "conv_once_patch_not_applied";
    let fake = account().await;
    fake.on(Route::PatchAgent)
        .always(Fault::without_acting(Answer::status(503)));
    let app = spawn_against_fake(&fake, &[("ELEVENLABS_MAX_RETRIES", "1")]).await;

    let response = app.post_json(&ivan(conversation)).await;

    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    assert_none_of_ours_left(&fake, conversation);
    assert_eq!(
        fake.subscription().voice_add_edit_counter,
        1,
        "it was cloned"
    );
    assert!(fake.request_count(Route::GetAgent) >= 1, "read back first");
    assert_eq!(fake.request_count(Route::DeleteVoice), 1);
}

#[tokio::test]
async fn an_agent_update_that_hangs_with_an_agent_that_cannot_be_read_is_502_and_the_voice_it_may_use_kept()
 {
    let conversation = "conv_once_patch_unknown";
    let fake = account().await;
    // The PATCH is applied but never answered; reading the agent back fails throughout.
    fake.on(Route::PatchAgent)
        .always(Fault::act_then(Answer::Hang));
    fake.on(Route::GetAgent)
        .always(Fault::without_acting(Answer::status(500)));
    let app = spawn_against_fake(
        &fake,
        &[
            ("ELEVENLABS_REQUEST_TIMEOUT_SECONDS", "0.5"),
            ("ELEVENLABS_MAX_RETRIES", "1"),
        ],
    )
    .await;

    let response = app.post_json(&ivan(conversation)).await;

    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    // Whatever the clean-up does in the background, it has done once the app has drained.
    app.stop().await;
    let voice = fake
        .assert_only_the_agents_voice_for(conversation, AGENT_ID)
        .expect("the voice the agent speaks with is kept");
    assert_eq!(fake.voices_for_conversation(conversation), [voice]);
    assert_eq!(
        fake.request_count(Route::DeleteVoice),
        0,
        "nothing deleted blindly"
    );
    assert!(
        fake.request_count(Route::GetAgent) >= 4,
        "the use case and then the clean-up tried to read the agent"
    );
}
