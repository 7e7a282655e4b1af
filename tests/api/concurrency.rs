//! Many webhooks at once: each is handled on its own, none is lost or mixed up.

use std::collections::HashSet;

use crate::helpers::{body_of, json_payload, send, spawn_app_with, status_and_json, wav};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_50_concurrent_webhooks_each_with_its_own_voice() {
    // Every webhook here is Ivan ringing again; reuse is not what this test is about.
    let app = spawn_app_with(&[("VOICE_REUSE_MAX_AGE_SECONDS", "0")]).await;
    let sample = wav(5.0, 16_000);

    let requests: Vec<_> = (0..50)
        .map(|i| {
            let body = body_of(&json_payload(
                &format!("conv_concurrent_{i:02}"),
                Some(&sample),
            ));
            tokio::spawn(send(app.signed_json(&body)))
        })
        .collect();
    let mut voice_ids = HashSet::new();
    let mut conversations = HashSet::new();
    for request in requests {
        let response = request.await.unwrap();
        let (status, body) = status_and_json(response).await;
        assert_eq!(status, 200, "{body}");
        voice_ids.insert(body["voice_id"].as_str().unwrap().to_owned());
        conversations.insert(body["conversation_id"].as_str().unwrap().to_owned());
    }

    assert_eq!(voice_ids.len(), 50, "50 distinct voices");
    assert_eq!(
        conversations.len(),
        50,
        "each answer names its own conversation"
    );
    let clones = app.cloner.clones();
    assert_eq!(clones.len(), 50);
    let cloned: HashSet<String> = clones.iter().map(|c| c.voice_id.to_string()).collect();
    assert_eq!(cloned, voice_ids);
    assert!(clones.iter().all(|c| c.bytes == sample));
    assert_eq!(app.agents.updates().len(), 50);
}
