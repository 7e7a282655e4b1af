//! The ready-made assertions: the SPEC's "at most the voice its agent got" and "every request
//! succeeded" hold when they should and fail, saying why, when they should not.

use reqwest::Method;
use serde_json::json;

use super::{created, request, send};
use crate::fake_elevenlabs::FakeElevenLabs;

/// An account with agent `agent_1` and one voice for `conv_1`, not (yet) on the agent.
async fn one_voice_for_conv_1() -> (FakeElevenLabs, String) {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_1", "premade_voice", "Hello!");
    let voice = created(&fake, "Ivan", "conv_1").await;
    (fake, voice)
}

#[tokio::test]
async fn the_invariant_holds_with_no_voice_or_with_the_voice_the_agent_speaks_with() {
    let (fake, voice) = one_voice_for_conv_1().await;
    assert_eq!(
        fake.assert_only_the_agents_voice_for("conv_2", "agent_1"),
        None
    );

    let patch = json!({"conversation_config": {"tts": {"voice_id": voice}}});
    send(request(&fake, Method::PATCH, "/v1/convai/agents/agent_1").json(&patch)).await;

    let kept = fake.assert_only_the_agents_voice_for("conv_1", "agent_1");
    assert_eq!(kept.map(|v| v.voice_id), Some(voice));
    fake.assert_every_request_succeeded();
}

#[tokio::test]
#[should_panic(expected = "an orphan voice")]
async fn a_voice_the_agent_does_not_speak_with_breaks_the_invariant() {
    let (fake, _) = one_voice_for_conv_1().await;
    fake.assert_only_the_agents_voice_for("conv_1", "agent_1");
}

#[tokio::test]
#[should_panic(expected = "the account holds 2 voices for conv_1")]
async fn two_voices_for_one_conversation_break_the_invariant() {
    let (fake, _) = one_voice_for_conv_1().await;
    created(&fake, "Ivan again", "conv_1").await;
    fake.assert_at_most_one_voice_for("conv_1");
}

#[tokio::test]
#[should_panic(expected = "requests that failed")]
async fn a_refused_request_fails_the_every_request_succeeded_check() {
    let fake = FakeElevenLabs::start().await;
    send(request(
        &fake,
        Method::DELETE,
        "/v1/voices/fake_voice_999999",
    ))
    .await;
    fake.assert_every_request_succeeded();
}
