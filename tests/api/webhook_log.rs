//! The lines a pre-call webhook writes, on the real binary with `LOG_FORMAT=json`: a handled
//! webhook and a refused one each write one line inside the `webhook` span. A refusal of an
//! unsigned or forged request gets its span only when its line is written (a flood must not
//! pay for one per request); the line must look the same as any other.

use precall_webhook::adapters::SystemClock;
use precall_webhook::domain::WebhookSecret;
use precall_webhook::ports::Clock;
use secrecy::SecretString;
use serde_json::Value;

use crate::binary::{Service, client};
use crate::fake_elevenlabs::FakeElevenLabs;
use crate::helpers::{SECRET, body_of, json_payload, send, status_and_json, wav};

/// The JSON lines of `log` whose message is `message`.
fn lines_saying(log: &str, message: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == message)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handled_and_refused_webhooks_each_write_one_line_in_the_webhook_span() {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent("agent_def456uvw", "premade_voice", "Hello!");
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::start(dir.path(), &fake.uri(), &[("LOG_FORMAT", "json")]).await;
    let client = client();
    service.wait_until_healthy(&client).await;
    let url = format!("http://{}/webhook", service.address);
    let body = body_of(&json_payload("conv_logged", Some(&wav(5.0, 16_000))));
    let now = SystemClock.now_unix();
    let signature = WebhookSecret::new(SecretString::from(SECRET))
        .expect("a non-empty secret")
        .sign(now, &body);
    let post = |signature: String| {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("elevenlabs-signature", signature)
            .body(body.clone())
    };

    let (forged, _) =
        status_and_json(send(post(format!("t={now},v0={}", "0".repeat(64)))).await).await;
    let (handled, answer) = status_and_json(send(post(signature)).await).await;
    service.terminate();
    let exit = service.exit_status().await;

    assert_eq!((forged.as_u16(), handled.as_u16()), (401, 200), "{answer}");
    assert!(exit.success(), "exit status {exit}:\n{}", service.log());
    let log = service.log();
    let [refused] = &lines_saying(&log, "webhook refused")[..] else {
        panic!("one refusal line:\n{log}");
    };
    assert_eq!(refused["span"]["name"], "webhook", "{refused}");
    assert_eq!(refused["level"], "WARN", "{refused}");
    assert_eq!(refused["error_code"], "INVALID_SIGNATURE", "{refused}");
    assert_eq!(refused["status"], 401, "{refused}");
    let [handled] = &lines_saying(&log, "webhook handled")[..] else {
        panic!("one handled line:\n{log}");
    };
    assert_eq!(handled["span"]["name"], "webhook", "{handled}");
    assert_eq!(
        handled["span"]["conversation_id"], "conv_logged",
        "{handled}"
    );
    assert_eq!(handled["level"], "INFO", "{handled}");
}
