//! Exactly once at ElevenLabs (SPEC): whatever fails on the way, a delivered conversation leaves
//! at most one voice on the account — the one its agent got — and a failed one leaves none.
//!
//! Each test scripts one fault on the stateful fake ElevenLabs, runs the real service with its
//! real ElevenLabs client against it, and ends by asserting that invariant on the account
//! (request counts are asserted as well, never instead). Timeouts are small so that every test
//! takes seconds; waits for background work poll the fake under a guard that fails the test
//! instead of hanging it, and never assert how long something took at most.
//!
//! - `clone`: lost, garbled, late and throttled answers to `POST /v1/voices/add`;
//! - `cleanup`: failures that may leave a voice behind, the clean-up in the background, late
//!   duplicates and redeliveries;
//! - `agent`: lost answers to `PATCH /v1/convai/agents/{id}` and the read-back after them.

mod agent;
mod cleanup;
mod clone;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::fake_elevenlabs::{FakeElevenLabs, FakeVoice};
use crate::helpers::{TestApp, body_of, fixture, json_payload, status_and_json};

/// The agent of the default payload.
const AGENT_ID: &str = "agent_def456uvw";
/// The voice the agent speaks with before any webhook.
const PREMADE_VOICE: &str = "premade_voice";

/// A fake account holding the payload's agent, speaking with [`PREMADE_VOICE`].
async fn account() -> FakeElevenLabs {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT_ID, PREMADE_VOICE, "Hello!");
    fake
}

/// Ivan's webhook for `conversation_id`, with the 5-second WAV, as a JSON body.
fn ivan(conversation_id: &str) -> Vec<u8> {
    body_of(&json_payload(
        conversation_id,
        Some(&fixture("voice_5s.wav")),
    ))
}

/// Posts Ivan's webhook, guarded so a hanging service fails the test.
async fn post_ivan(app: &TestApp, conversation_id: &str) -> (StatusCode, Value) {
    // Not a timing assertion: a guard so that a service that never answers fails the test.
    let response = tokio::time::timeout(
        Duration::from_secs(60),
        app.post_json(&ivan(conversation_id)),
    )
    .await
    .expect("the service answered within 60 s");
    status_and_json(response).await
}

/// Polls until `condition` holds. Not a timing assertion: the guard only turns a wait that
/// would never end into a failure naming `what`.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let wait = async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .is_err()
    {
        panic!("still waiting after 30 s for: {what}");
    }
}

/// The invariant after a success: the account holds exactly one voice for the conversation, the
/// agent speaks with it, and the webhook's answer names it. Returns it.
#[track_caller]
fn assert_the_call_got_the_only_voice(
    fake: &FakeElevenLabs,
    conversation_id: &str,
    answer: &Value,
) -> FakeVoice {
    let voice = fake
        .assert_only_the_agents_voice_for(conversation_id, AGENT_ID)
        .unwrap_or_else(|| panic!("no voice for {conversation_id}; answered {answer}"));
    assert_eq!(
        fake.voices_for_conversation(conversation_id),
        std::slice::from_ref(&voice)
    );
    assert_eq!(answer["voice_id"], voice.voice_id.as_str(), "{answer}");
    assert_eq!(answer["voice_name"], voice.name.as_str(), "{answer}");
    assert_eq!(answer["agent_updated"], true, "{answer}");
    voice
}

/// The invariant after a failure: the account holds no voice of the conversation, and the agent
/// still speaks with the voice it had.
#[track_caller]
fn assert_none_of_ours_left(fake: &FakeElevenLabs, conversation_id: &str) {
    assert_eq!(
        fake.assert_only_the_agents_voice_for(conversation_id, AGENT_ID),
        None
    );
    let left = fake.voices_for_conversation(conversation_id);
    assert!(
        left.is_empty(),
        "voices left for {conversation_id}: {left:#?}"
    );
    assert_eq!(
        fake.agent_voice_id(AGENT_ID).as_deref(),
        Some(PREMADE_VOICE)
    );
}
