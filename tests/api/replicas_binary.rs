//! Two replicas of the real binary on one Redis (SPEC "Several replicas"), talking to one
//! stateful fake ElevenLabs — the topology of `deploy/compose.yaml` without the proxy: a
//! redelivery sent to the other replica is a replay with one clone upstream, two identical
//! deliveries racing on both share one clone, a clone registered through one is served by the
//! other's conversation-initiation answer, and only one of them sweeps.

use std::net::SocketAddr;
use std::time::Duration;

use precall_webhook::adapters::SystemClock;
use precall_webhook::domain::WebhookSecret;
use precall_webhook::ports::Clock;
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;

use crate::binary::{Service, client};
use crate::fake_elevenlabs::{FakeElevenLabs, Fault, Route};
use crate::helpers::{PHONE_NUMBER, SECRET, body_of, json_payload, status_and_json, try_send, wav};
use crate::initiation::{BEARER, TOKEN, ring};
use crate::redis_server::RedisServer;

const AGENT: &str = "agent_def456uvw";

/// Two replicas, each in a directory of its own.
struct Replicas {
    one: Service,
    other: Service,
    _dirs: [TempDir; 2],
}

async fn start_two(fake: &FakeElevenLabs, redis: &RedisServer, vars: &[(&str, &str)]) -> Replicas {
    fake.add_agent(AGENT, "voice_original_0001", "Welkom!");
    let url = redis.url();
    let mut all = vec![
        ("REDIS_URL", url.as_str()),
        ("CONVERSATION_INITIATION_TOKEN", TOKEN),
        ("VOICE_SWEEP_INTERVAL_SECONDS", "0"),
    ];
    // Later values win: a test's own settings replace the defaults above.
    all.extend_from_slice(vars);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut one = Service::start(dirs[0].path(), &fake.uri(), &all).await;
    let mut other = Service::start(dirs[1].path(), &fake.uri(), &all).await;
    for service in [&mut one, &mut other] {
        wait_until_ready(service).await;
    }
    Replicas {
        one,
        other,
        _dirs: dirs,
    }
}

async fn wait_until_ready(service: &mut Service) {
    let http = client();
    let ready = async {
        loop {
            let request = http.get(format!("http://{}/ready", service.address));
            if try_send(request).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), ready)
        .await
        .is_err()
    {
        service.assert_running();
        panic!("a replica was not ready within 30 s:\n{}", service.log());
    }
}

/// Posts `body` to the replica at `address`, signed now: status, `Idempotent-Replayed`, body.
async fn deliver(address: SocketAddr, body: &[u8]) -> (u16, bool, Value) {
    let signature = WebhookSecret::new(SecretString::from(SECRET))
        .expect("a non-empty secret")
        .sign(SystemClock.now_unix(), body);
    let response = try_send(
        client()
            .post(format!("http://{address}/webhook"))
            .header("content-type", "application/json")
            .header("elevenlabs-signature", signature)
            .body(body.to_vec()),
    )
    .await
    .expect("the replica answers");
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let (status, body) = status_and_json(response).await;
    (status.as_u16(), replayed, body)
}

fn ivan(conversation_id: &str) -> Vec<u8> {
    body_of(&json_payload(conversation_id, Some(&wav(5.0, 16_000))))
}

#[tokio::test]
async fn a_redelivery_sent_to_the_other_replica_is_a_replay_with_one_clone_upstream() {
    let redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let replicas = start_two(&fake, &redis, &[]).await;
    let body = ivan("conv_redelivered");

    let (status, replayed, first) = deliver(replicas.one.address, &body).await;
    assert_eq!((status, replayed), (200, false), "{first}");
    let (status, replayed, again) = deliver(replicas.other.address, &body).await;
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(again["voice_id"], first["voice_id"]);
    assert_eq!(fake.request_count(Route::AddVoice), 1);
    assert_eq!(fake.voice_count(), 1);
}

#[tokio::test]
async fn identical_deliveries_racing_on_two_replicas_share_one_clone() {
    let redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let replicas = start_two(&fake, &redis, &[]).await;
    // A slow clone, so that the second delivery arrives while the first is cloning.
    fake.on(Route::AddVoice)
        .next(Fault::act_after(Duration::from_millis(800)));
    let body = ivan("conv_raced");

    let (one, other) = tokio::join!(
        deliver(replicas.one.address, &body),
        deliver(replicas.other.address, &body)
    );
    for (status, _, answer) in [&one, &other] {
        assert_eq!(*status, 200, "{answer}");
    }
    assert_eq!(one.2["voice_id"], other.2["voice_id"]);
    assert!(one.1 ^ other.1, "exactly one answer is the replay");
    assert_eq!(fake.request_count(Route::AddVoice), 1);
    fake.assert_only_the_agents_voice_for("conv_raced", AGENT);
}

#[tokio::test]
async fn a_clone_registered_through_one_replica_is_served_by_the_others_initiation_answer() {
    let redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let replicas = start_two(&fake, &redis, &[("AGENT_UPDATE_MODE", "override")]).await;
    let (status, _, made) = deliver(replicas.one.address, &ivan("conv_shared")).await;
    assert_eq!(status, 200, "{made}");

    let request = client()
        .post(format!(
            "http://{}/webhook/conversation-initiation",
            replicas.other.address
        ))
        .header("authorization", BEARER)
        .header("content-type", "application/json")
        .body(ring(PHONE_NUMBER, "CA_shared"));
    let (status, answer) = status_and_json(try_send(request).await.expect("an answer")).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["conversation_config_override"]["tts"]["voice_id"],
        made["voice_id"]
    );
    assert!(fake.agent_patches(AGENT).is_empty(), "override mode");
}

#[tokio::test]
async fn only_one_replica_sweeps() {
    let redis = RedisServer::start().await;
    let fake = FakeElevenLabs::start().await;
    let replicas = start_two(&fake, &redis, &[("VOICE_SWEEP_INTERVAL_SECONDS", "1")]).await;
    const LEADING: &str = "this replica holds the sweep lease";

    let leader_chosen = async {
        while !(replicas.one.log().contains(LEADING) || replicas.other.log().contains(LEADING)) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), leader_chosen)
        .await
        .expect("a replica takes the sweep lease within 30 s");
    let sweeps_before = fake.request_count(Route::ListVoices);
    // Several more intervals: the other replica keeps finding the lease held.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let leaders = [&replicas.one, &replicas.other]
        .iter()
        .filter(|replica| replica.log().contains(LEADING))
        .count();
    assert_eq!(leaders, 1, "exactly one replica ever held the lease");
    assert!(
        fake.request_count(Route::ListVoices) > sweeps_before,
        "the leader keeps sweeping"
    );
}
