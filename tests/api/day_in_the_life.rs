//! A day in the life of a busy agent, compressed: well over a hundred pre-call webhooks from a
//! few dozen callers (repeats and anonymous callers included), post-call events for most calls
//! but not all (some lost, some sent twice), an account with far fewer slots than calls, a short
//! reuse age and a fast sweep. Every webhook must be answered 200, and once the reuse age has
//! passed and the sweep has run, no voice of ours is left — while the foreign voices on the
//! account are never touched.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_elevenlabs::{FakeElevenLabs, Route};
use crate::helpers::{TestApp, body_of, fixture, json_payload, status_and_json};

const AGENT: &str = "agent_def456uvw";
const WEBHOOKS: usize = 120;
const CALLERS: usize = 30;
/// Callers who ring again and again.
const REGULARS: usize = 2;
/// The account's custom-voice slots, two of them taken by foreign voices.
const SLOTS: usize = 6;

/// Caller `n`'s number; every fifth caller gives none (an anonymous caller).
fn phone(n: usize) -> Option<String> {
    (n % 5 != 4).then(|| format!("+316200{n:05}"))
}

fn post_call_event(conversation_id: &str, at: u64) -> Value {
    json!({
        "type": "post_call_transcription",
        "event_timestamp": at,
        "data": {"agent_id": AGENT, "conversation_id": conversation_id, "status": "done"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_day_is_served_within_the_slots_and_leaves_no_voice_of_ours_behind() {
    // The monthly add/edit budget is another test's (slots.rs): here only the slots are tight.
    let fake = FakeElevenLabs::builder()
        .voice_limit(SLOTS)
        .max_voice_add_edits(10_000)
        .start()
        .await;
    fake.add_agent(AGENT, "premade_voice", "Hello!");
    let foreign = [
        fake.add_foreign_voice("Narrator", &[("use", "audiobooks")]),
        fake.add_foreign_voice(
            "Other deployment",
            &[("source", "precall-webhook"), ("owner", "another-team")],
        ),
    ];
    // The system clock: reuse ages and the sweep run on real time here.
    let app = TestApp::builder()
        .elevenlabs_at(&fake.uri())
        .vars(&[
            ("VOICE_REUSE_MAX_AGE_SECONDS", "2"),
            ("VOICE_SWEEP_INTERVAL_SECONDS", "1"),
            ("VOICE_ORPHAN_GRACE_SECONDS", "1"),
        ])
        .spawn()
        .await;
    let sample = fixture("voice_5s.wav");
    let mut answers: HashMap<&'static str, usize> = HashMap::new();

    for n in 0..WEBHOOKS {
        // Two regulars ring all day long; a few dozen others now and then.
        let caller = if n % 2 == 0 {
            n / 2 % REGULARS
        } else {
            REGULARS + (n * 7) % (CALLERS - REGULARS)
        };
        let conversation = format!("conv_day_{n:03}");
        let mut payload = json_payload(&conversation, Some(&sample));
        payload["caller_metadata"]["phone_number"] = phone(caller).map_or(Value::Null, Value::from);
        let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;
        assert_eq!(status, 200, "webhook {n}: {body}");
        assert!(
            fake.voice_count() <= SLOTS,
            "never over the account's limit"
        );
        *answers
            .entry(if body["voice_reused"] == true {
                "reused"
            } else {
                "cloned"
            })
            .or_default() += 1;

        // Most calls end with a post-call event; every seventh is lost, every ninth sent twice.
        if n % 7 != 6 {
            let event = post_call_event(&conversation, 1_796_161_000 + n as u64);
            let (status, _) = status_and_json(app.post_call(&event).await).await;
            assert_eq!(status, 200);
            if n % 9 == 0 {
                let (_, again) = status_and_json(app.post_call(&event).await).await;
                assert_eq!(again["action"], "duplicate");
            }
        }
    }

    // After the reuse age, a few sweeps remove what is left of ours: expired callers' clones
    // and the clones whose post-call event was lost.
    let ours_left = || {
        fake.voices()
            .iter()
            .filter(|v| !foreign.contains(&v.voice_id))
            .count()
    };
    let drained = async {
        while ours_left() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // Not a timing assertion: a guard that turns a sweep that never cleans up into a failure.
    tokio::time::timeout(Duration::from_secs(60), drained)
        .await
        .unwrap_or_else(|_| panic!("{} voices of ours left after a minute", ours_left()));

    let remaining: Vec<String> = fake.voices().into_iter().map(|v| v.voice_id).collect();
    assert_eq!(remaining.len(), 2, "{remaining:?}");
    for voice in &foreign {
        assert!(
            remaining.contains(voice),
            "a foreign voice is never touched"
        );
    }
    assert_eq!(
        fake.agent_voice_id(AGENT).as_deref(),
        Some("premade_voice"),
        "the agent speaks with its own voice again"
    );
    assert!(
        answers.get("reused").copied().unwrap_or(0) >= WEBHOOKS / 3,
        "the regulars reuse their clones: {answers:?}"
    );
    let clones = fake.request_count(Route::AddVoice);
    let deletes = fake.request_count(Route::DeleteVoice);
    eprintln!(
        "day in the life: {WEBHOOKS} webhooks from {CALLERS} callers, {} cloned, {} reused; \
         {clones} clone calls, {deletes} deletes, {SLOTS} slots (2 foreign)",
        answers.get("cloned").copied().unwrap_or(0),
        answers.get("reused").copied().unwrap_or(0),
    );
}
