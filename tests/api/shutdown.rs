//! SIGTERM: the service stops accepting connections, lets the webhooks in flight finish within
//! the grace period (`SHUTDOWN_GRACE_SECONDS`) — their upstream work and the clean-ups they
//! started included — then exits 0. Proven on the real binary, talking to the stateful fake
//! ElevenLabs, which holds a clone at a gate for as long as the test needs; each test ends on
//! the account: exactly the voice the agent got, or none.

use std::net::SocketAddr;
use std::time::Duration;

use precall_webhook::adapters::SystemClock;
use precall_webhook::domain::WebhookSecret;
use precall_webhook::ports::Clock;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::{Cores, Service, client};
use crate::fake_elevenlabs::{Answer, FakeElevenLabs, Fault, Gate, Route};
use crate::helpers::{SECRET, assert_error, body_of, json_payload, status_and_json, try_send, wav};

/// The agent of the default payload.
const AGENT_ID: &str = "agent_def456uvw";

/// Not a timing assertion: a guard so that a clone that never reaches the fake fails the test.
async fn wait_for_the_held_clone(gate: &Gate) {
    tokio::time::timeout(Duration::from_secs(30), gate.arrived())
        .await
        .expect("the clone reached ElevenLabs within 30 s");
}

/// Posts Ivan's webhook for `conversation_id`, signed now, to the service at `address`.
fn post_ivan(
    client: &reqwest::Client,
    address: SocketAddr,
    conversation_id: &str,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> + use<> {
    let body = body_of(&json_payload(conversation_id, Some(&wav(5.0, 16_000))));
    let signature = WebhookSecret::new(SecretString::from(SECRET))
        .expect("a non-empty secret")
        .sign(SystemClock.now_unix(), &body);
    try_send(
        client
            .post(format!("http://{address}/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", signature)
            .body(body),
    )
}

/// Waits until the service refuses new connections. Best effort on the order of events: the
/// signal is handled asynchronously, so a connection made in the moment after it may still be
/// served; soon none is.
async fn wait_until_refusing(service: &Service) {
    let refused = async {
        while answers_a_new_connection(service.address).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), refused)
        .await
        .expect("after SIGTERM new connections are refused");
}

/// A fake account holding the payload's agent, speaking with a premade voice.
async fn account() -> FakeElevenLabs {
    let fake = FakeElevenLabs::start().await;
    fake.add_agent(AGENT_ID, "premade_voice", "Hello!");
    fake
}

/// Whether a new connection to `address` gets a response to `GET /health`: `false` when it is
/// refused, closed or left unanswered.
async fn answers_a_new_connection(address: SocketAddr) -> bool {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), exchange).await,
        Ok(Some(true))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_stops_accepting_finishes_the_clone_in_flight_and_exits_0_leaving_exactly_the_agents_voice()
 {
    finishes_the_clone_in_flight(Cores::All).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_core_the_current_thread_runtime_too_finishes_the_clone_in_flight_on_sigterm() {
    finishes_the_clone_in_flight(Cores::One).await;
}

async fn finishes_the_clone_in_flight(cores: Cores) {
    let fake = account().await;
    let gate = Gate::new();
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).held(&gate));
    let dir = tempfile::tempdir().unwrap();
    let mut service = Service::start_on(cores, dir.path(), &fake.uri(), &[]).await;
    let client = client();
    service.wait_until_healthy(&client).await;

    let in_flight = tokio::spawn(post_ivan(&client, service.address, "conv_shutdown"));
    wait_for_the_held_clone(&gate).await;
    service.terminate();
    wait_until_refusing(&service).await;
    // Only now, with the service refusing new work, does ElevenLabs make the voice and answer.
    gate.open();

    let response = tokio::time::timeout(Duration::from_secs(60), in_flight)
        .await
        .expect("the webhook in flight was answered within 60 s")
        .unwrap()
        .expect("the webhook in flight got a response, not a dropped connection");
    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 200, "{answer}\n{}", service.log());
    assert_eq!(answer["agent_updated"], true, "{answer}");

    let exit = service.exit_status().await;
    assert!(exit.success(), "exit status {exit}:\n{}", service.log());
    let voice = fake
        .assert_only_the_agents_voice_for("conv_shutdown", AGENT_ID)
        .expect("the voice the call got");
    assert_eq!(answer["voice_id"], voice.voice_id.as_str(), "{answer}");
    assert_eq!(fake.request_count(Route::AddVoice), 1);
    assert_eq!(fake.request_count(Route::DeleteVoice), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_right_after_an_uncertain_failure_the_service_waits_for_its_clean_up_to_delete_the_voice_then_exits_0()
 {
    waits_for_the_clean_up(Cores::All).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_core_the_current_thread_runtime_too_waits_for_the_clean_up_on_sigterm() {
    waits_for_the_clean_up(Cores::One).await;
}

async fn waits_for_the_clean_up(cores: Cores) {
    let conversation = "conv_shutdown_clean_up";
    let fake = account().await;
    let gate = Gate::new();
    fake.on(Route::AddVoice)
        .next(Fault::act_then(Answer::Real).held(&gate));
    let dir = tempfile::tempdir().unwrap();
    // One clone attempt fits the deadline: it times out while held, and the webhook fails.
    let mut service = Service::start_on(
        cores,
        dir.path(),
        &fake.uri(),
        &[
            ("ELEVENLABS_TIMEOUT_SECONDS", "1"),
            ("ELEVENLABS_MIN_CLONE_ATTEMPT_SECONDS", "0.8"),
        ],
    )
    .await;
    let client = client();
    service.wait_until_healthy(&client).await;

    let response = tokio::time::timeout(
        Duration::from_secs(60),
        post_ivan(&client, service.address, conversation),
    )
    .await
    .expect("the webhook was answered within 60 s")
    .expect("a response");
    assert_error(response, 502, "UPSTREAM_UNAVAILABLE", Some(conversation)).await;
    service.terminate();
    wait_until_refusing(&service).await;
    service.assert_running();
    // The lost clone's voice appears only now, while the service is shutting down.
    gate.open();

    let exit = service.exit_status().await;
    assert!(exit.success(), "exit status {exit}:\n{}", service.log());
    assert_eq!(
        fake.subscription().voice_add_edit_counter,
        1,
        "the voice was made"
    );
    assert_eq!(
        fake.assert_only_the_agents_voice_for(conversation, AGENT_ID),
        None,
        "{}",
        service.log()
    );
    assert!(fake.voices_for_conversation(conversation).is_empty());
    assert_eq!(fake.request_count(Route::DeleteVoice), 1);
    assert_eq!(
        fake.agent_voice_id(AGENT_ID).as_deref(),
        Some("premade_voice")
    );
}
