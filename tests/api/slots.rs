//! Slots (SPEC "Voice lifecycle" 4): when the account's custom-voice slots are full, or our own
//! clones reach `VOICE_MAX_LIVE_CLONES`, our least recently used clone that is not in a call is
//! retired — its agent put back first when it speaks with it — and the clone is made once more.
//! The monthly add/edit budget frees nothing. Foreign voices are never touched.

use serde_json::Value;

use crate::fake_elevenlabs::{FakeElevenLabs, Route};
use crate::helpers::{
    TestApp, assert_error, body_of, fixture, json_payload, spawn_against_fake, spawn_app_with,
    status_and_json, wav,
};

const AGENT: &str = "agent_def456uvw";

/// A webhook from caller number `n` (each `n` is another caller).
fn caller(conversation_id: &str, n: u32) -> Vec<u8> {
    let mut payload = json_payload(conversation_id, Some(&fixture("voice_5s.wav")));
    payload["caller_metadata"]["phone_number"] = Value::from(format!("+3161000{n:04}"));
    body_of(&payload)
}

async fn ok(app: &TestApp, body: &[u8]) -> Value {
    let (status, body) = status_and_json(app.post_json(body).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn account(voice_limit: usize) -> FakeElevenLabs {
    let fake = FakeElevenLabs::builder()
        .voice_limit(voice_limit)
        .start()
        .await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    fake
}

#[tokio::test]
async fn a_full_account_evicts_our_least_recently_used_clone_and_clones_once_more() {
    let fake = account(3).await;
    let foreign = fake.add_foreign_voice("Narrator", &[("use", "audiobooks")]);
    let app = spawn_against_fake(&fake, &[]).await;
    let first = ok(&app, &caller("conv_a", 1)).await;
    let second = ok(&app, &caller("conv_b", 2)).await;

    let third = ok(&app, &caller("conv_c", 3)).await;

    let ids: Vec<String> = fake.voices().into_iter().map(|v| v.voice_id).collect();
    assert_eq!(ids.len(), 3, "never over the limit: {ids:?}");
    assert!(ids.contains(&foreign), "a foreign voice is never touched");
    assert!(
        !ids.iter()
            .any(|id| Some(id.as_str()) == first["voice_id"].as_str())
    );
    assert!(
        ids.iter()
            .any(|id| Some(id.as_str()) == second["voice_id"].as_str())
    );
    assert_eq!(
        fake.agent_voice_id(AGENT).as_deref(),
        third["voice_id"].as_str()
    );
    assert_eq!(
        fake.request_count(Route::AddVoice),
        4,
        "one refused, then once more"
    );
}

#[tokio::test]
async fn the_agent_is_put_back_before_the_clone_it_speaks_with_is_evicted() {
    let fake = account(1).await;
    let app = spawn_against_fake(&fake, &[]).await;
    let first = ok(&app, &caller("conv_a", 1)).await;
    assert_eq!(
        fake.agent_voice_id(AGENT).as_deref(),
        first["voice_id"].as_str()
    );

    let second = ok(&app, &caller("conv_b", 2)).await;

    let patched: Vec<String> = fake
        .agent_patches(AGENT)
        .iter()
        .filter_map(|p| {
            p.pointer("/conversation_config/tts/voice_id")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        patched,
        [
            first["voice_id"].as_str().unwrap(),
            "premade_voice",
            second["voice_id"].as_str().unwrap()
        ],
        "the agent never spoke with a deleted voice"
    );
    fake.assert_only_the_agents_voice_for("conv_b", AGENT);
    assert_eq!(fake.voice_count(), 1);
}

#[tokio::test]
async fn a_spent_add_edit_budget_is_refused_with_its_reason_and_frees_nothing() {
    let fake = FakeElevenLabs::builder()
        .max_voice_add_edits(1)
        .start()
        .await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    let app = spawn_against_fake(&fake, &[]).await;
    let first = ok(&app, &caller("conv_a", 1)).await;

    let message = assert_error(
        app.post_json(&caller("conv_b", 2)).await,
        422,
        "VOICE_CLONING_FAILED",
        Some("conv_b"),
    )
    .await;

    assert!(
        message.contains("voice_add_edit_limit_reached"),
        "{message}"
    );
    let ids: Vec<String> = fake.voices().into_iter().map(|v| v.voice_id).collect();
    assert_eq!(
        ids,
        [first["voice_id"].as_str().unwrap()],
        "nothing evicted"
    );
}

#[tokio::test]
async fn our_own_cap_evicts_before_the_account_is_full() {
    let app = spawn_app_with(&[("VOICE_MAX_LIVE_CLONES", "2")]).await;
    for (n, conversation) in ["conv_a", "conv_b", "conv_c", "conv_d"].iter().enumerate() {
        let mut payload = json_payload(conversation, Some(&wav(5.0, 16_000)));
        payload["caller_metadata"]["phone_number"] = Value::from(format!("+3161100{n:04}"));
        ok(&app, &body_of(&payload)).await;
    }
    assert_eq!(app.cloner.clones().len(), 4);
    assert_eq!(
        app.cloner.live_voices().len(),
        2,
        "never more than VOICE_MAX_LIVE_CLONES"
    );
    assert_eq!(app.cloner.deleted().len(), 2);
}
