//! The sweep use case on its own (SPEC "Voice lifecycle" 3), through the in-memory adapters on
//! paused time: what it deletes, what it keeps, and that a dry run changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use precall_webhook::adapters::{
    InMemoryAgentConfigurator, InMemoryVoiceCloner, InMemoryVoiceRegistry,
};
use precall_webhook::domain::{
    AgentId, CallId, Retirement, Sweep, SweepAction, SweepPorts, SweepReason, SweepReport,
    SweepSettings, VoiceId, VoiceName,
};
use precall_webhook::ports::{
    AgentConfigurator, AgentSettings, AgentUpdate, Clock, VoiceCloner, VoiceEntry, VoiceRegistry,
    VoiceState,
};

const T0: i64 = 1_800_000_000;
const REUSE: i64 = 3_600;
const GRACE: i64 = 900;
const MAX_CALL: i64 = 7_200;

/// A clock the test moves.
struct ManualClock(AtomicI64);

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

struct World {
    cloner: Arc<InMemoryVoiceCloner>,
    agents: Arc<InMemoryAgentConfigurator>,
    registry: Arc<InMemoryVoiceRegistry>,
    clock: Arc<ManualClock>,
    sweep: Sweep,
}

impl World {
    fn new() -> Self {
        let cloner = Arc::new(InMemoryVoiceCloner::new());
        cloner.set_now_unix(T0);
        let agents = Arc::new(InMemoryAgentConfigurator::new());
        let registry = Arc::new(InMemoryVoiceRegistry::new());
        let clock = Arc::new(ManualClock(AtomicI64::new(T0)));
        let sweep = Sweep::new(
            SweepPorts {
                cloner: cloner.clone(),
                agents: agents.clone(),
                registry: registry.clone(),
                clock: clock.clone(),
            },
            SweepSettings {
                reuse_max_age: Duration::from_secs(REUSE as u64),
                orphan_grace: Duration::from_secs(GRACE as u64),
                max_call: Duration::from_secs(MAX_CALL as u64),
            },
            Arc::new(Retirement::new(
                cloner.clone(),
                agents.clone(),
                registry.clone(),
                clock.clone(),
                AgentSettings::default(),
            )),
        );
        Self {
            cloner,
            agents,
            registry,
            clock,
            sweep,
        }
    }

    fn at(&self, unix: i64) {
        self.clock.0.store(unix, Ordering::SeqCst);
    }

    /// One of our clones on the account, made for `agent` at the cloner's time.
    fn our_voice(&self, agent: &str) -> VoiceId {
        self.cloner.add_foreign_voice(
            "Ivan 2026-12-02",
            &[
                ("source", "precall-webhook"),
                ("owner", "precall-webhook"),
                ("agent_id", agent),
                ("conversation_id", "conv_sweep"),
            ],
        )
    }

    /// One of our clones, registered as used last at `last_used` and in `state`.
    async fn registered(&self, last_used: i64, state: VoiceState) -> VoiceId {
        let voice_id = self.our_voice("agent_sweep");
        self.registry
            .register(VoiceEntry {
                voice_id: voice_id.clone(),
                voice_name: VoiceName::on_platform("Ivan 2026-12-02"),
                caller_key: None,
                caller_name: Some("Ivan".into()),
                agent_id: AgentId::parse("agent_sweep").unwrap(),
                conversations: Vec::new(),
                calls: Vec::new(),
                created_at: last_used,
                last_used,
                state,
            })
            .await
            .unwrap();
        voice_id
    }

    async fn run(&self, dry_run: bool) -> SweepReport {
        self.sweep.run(dry_run).await.expect("the sweep runs")
    }

    fn on_account(&self, voice_id: &VoiceId) -> bool {
        self.cloner.live_voices().contains(voice_id)
    }
}

fn in_call(since: i64) -> VoiceState {
    VoiceState::InCall {
        call: CallId::parse("CA_sweep").unwrap(),
        since,
    }
}

#[tokio::test(start_paused = true)]
async fn an_expired_clone_is_deleted_and_one_within_the_reuse_window_kept() {
    let w = World::new();
    let old = w.registered(T0, VoiceState::Live).await;
    let recent = w.registered(T0 + 100, VoiceState::Live).await;
    w.at(T0 + REUSE);

    let report = w.run(false).await;

    assert!(!w.on_account(&old), "expired: deleted");
    assert!(w.registry.by_voice(&old).await.unwrap().is_none());
    assert!(w.on_account(&recent), "within the reuse window: kept");
    assert!(w.registry.by_voice(&recent).await.unwrap().is_some());
    assert_eq!(report.count(SweepReason::Expired, SweepAction::Deleted), 1);
    assert_eq!(report.removed(), [old]);
}

#[tokio::test(start_paused = true)]
async fn an_in_call_clone_is_kept_until_max_call_seconds() {
    let w = World::new();
    let voice = w.registered(T0, in_call(T0)).await;
    w.at(T0 + MAX_CALL - 1);
    let report = w.run(false).await;
    assert!(w.on_account(&voice), "past the reuse window but in a call");
    assert!(report.voices.is_empty(), "{report:?}");

    w.at(T0 + MAX_CALL);
    let report = w.run(false).await;
    assert!(
        !w.on_account(&voice),
        "the call is overdue: released and deleted"
    );
    assert!(w.registry.by_voice(&voice).await.unwrap().is_none());
    assert_eq!(report.count(SweepReason::Expired, SweepAction::Deleted), 1);
}

#[tokio::test(start_paused = true)]
async fn an_orphan_older_than_the_grace_is_deleted_a_younger_one_kept() {
    let w = World::new();
    let old = w.our_voice("agent_sweep");
    w.cloner.set_now_unix(T0 + 500);
    let young = w.our_voice("agent_sweep");
    w.at(T0 + GRACE);

    let report = w.run(false).await;

    assert!(!w.on_account(&old));
    assert!(w.on_account(&young));
    assert_eq!(report.count(SweepReason::Orphan, SweepAction::Deleted), 1);
    assert_eq!(report.removed(), [old]);
}

#[tokio::test(start_paused = true)]
async fn an_orphan_its_agent_speaks_with_is_kept() {
    let w = World::new();
    let orphan = w.our_voice("agent_sweep");
    let agent = AgentId::parse("agent_sweep").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    w.agents
        .update_agent(
            &agent,
            &AgentUpdate {
                voice_id: Some(orphan.clone()),
                first_message: None,
            },
            deadline,
        )
        .await
        .unwrap();
    w.at(T0 + 10 * GRACE);

    let report = w.run(false).await;

    assert!(
        w.on_account(&orphan),
        "a voice an agent uses is never deleted"
    );
    assert_eq!(report.count(SweepReason::Orphan, SweepAction::Kept), 1);
    assert!(report.removed().is_empty());
}

#[tokio::test(start_paused = true)]
async fn foreign_voices_are_never_touched() {
    let w = World::new();
    let users = w.cloner.add_foreign_voice("My own voice", &[]);
    let others = w.cloner.add_foreign_voice(
        "Another deployment",
        &[("source", "precall-webhook"), ("owner", "team-b")],
    );
    w.at(T0 + 10 * GRACE);

    let report = w.run(false).await;

    assert!(w.on_account(&users));
    assert!(w.on_account(&others));
    assert!(report.voices.is_empty(), "{report:?}");
    assert!(w.cloner.deleted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_registry_entry_whose_voice_is_gone_is_forgotten() {
    let w = World::new();
    let voice = w.registered(T0, VoiceState::Live).await;
    // Someone deleted it on the account.
    w.cloner
        .delete_voice(&voice, std::time::Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();

    let report = w.run(false).await;

    assert!(w.registry.by_voice(&voice).await.unwrap().is_none());
    assert_eq!(report.count(SweepReason::Gone, SweepAction::Deleted), 1);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_reports_and_changes_nothing() {
    let w = World::new();
    let expired = w.registered(T0, VoiceState::Live).await;
    let orphan = w.our_voice("agent_sweep");
    let gone = w.registered(T0, VoiceState::Live).await;
    w.cloner
        .delete_voice(&gone, std::time::Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    w.at(T0 + 10 * GRACE);
    let deleted_before = w.cloner.deleted().len();

    let report = w.run(true).await;

    assert!(report.dry_run);
    assert_eq!(w.cloner.deleted().len(), deleted_before, "nothing deleted");
    assert!(w.on_account(&expired) && w.on_account(&orphan));
    assert_eq!(w.registry.count().await.unwrap(), 2, "nothing forgotten");
    for reason in [SweepReason::Expired, SweepReason::Orphan, SweepReason::Gone] {
        assert_eq!(
            report.count(reason, SweepAction::WouldDelete),
            1,
            "{reason}"
        );
    }

    let report = w.run(false).await;
    assert_eq!(
        report.removed().len(),
        3,
        "the real run does what the dry one said"
    );
}

mod periodic {
    //! The periodic sweep of a running server, against the stateful fake account.

    use std::time::Duration;

    use crate::fake_elevenlabs::FakeElevenLabs;
    use crate::helpers::{TestApp, body_of, fixture, json_payload, status_and_json};

    const AGENT: &str = "agent_def456uvw";

    #[tokio::test]
    async fn an_expired_clone_is_swept_from_the_account_and_its_agent_put_back() {
        let fake = FakeElevenLabs::start().await;
        fake.add_agent(AGENT, "premade_voice", "Hello!");
        // The system clock (not a stopped one), so that the clone really expires.
        let app = TestApp::builder()
            .elevenlabs_at(&fake.uri())
            .vars(&[
                ("VOICE_SWEEP_INTERVAL_SECONDS", "1"),
                ("VOICE_REUSE_MAX_AGE_SECONDS", "1"),
            ])
            .spawn()
            .await;
        let payload = json_payload("conv_swept", Some(&fixture("voice_5s.wav")));
        let (status, body) = status_and_json(app.post_json(&body_of(&payload)).await).await;
        assert_eq!(status, 200, "{body}");
        let voice_id = body["voice_id"].as_str().expect("a clone").to_owned();
        assert!(fake.voice(&voice_id).is_some());

        tokio::time::timeout(Duration::from_secs(30), async {
            while fake.voice(&voice_id).is_some() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("the sweep deletes the expired clone");
        assert_eq!(
            fake.agent_voice_id(AGENT).as_deref(),
            Some("premade_voice"),
            "the agent was put back before its voice was deleted"
        );
        // The sweep is cancelled by the shutdown signal: it does not hold the shutdown for
        // the grace period (50 s here).
        tokio::time::timeout(Duration::from_secs(20), app.stop())
            .await
            .expect("the shutdown does not wait for the sweep");
    }
}
