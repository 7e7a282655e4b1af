//! The `VoiceRegistry` port's contract: every rule its docs promise, written once against the
//! trait, so that each adapter (in memory and Redis) runs the same suite and
//! they cannot drift. `registry_contract!` instantiates the suite for one adapter.

use precall_webhook::domain::{
    AgentId, CallId, CallerKey, CallerKeySecret, ConversationId, VoiceId, VoiceName,
};
use precall_webhook::ports::{AgentSettings, VoiceEntry, VoiceRegistry, VoiceState};

fn caller(number: &str) -> CallerKey {
    CallerKeySecret::new("contract").key_of(number).unwrap()
}

fn conversation(id: &str) -> ConversationId {
    ConversationId::parse(id).unwrap()
}

fn voice(id: &str) -> VoiceId {
    VoiceId::parse(id).unwrap()
}

fn entry(voice_id: &str, caller_key: Option<CallerKey>, at: i64) -> VoiceEntry {
    VoiceEntry {
        voice_id: voice(voice_id),
        voice_name: VoiceName::on_platform(format!("Ivan_Clone_{voice_id}")),
        caller_key,
        caller_name: Some("Ivan".into()),
        agent_id: AgentId::parse("agent_1").unwrap(),
        conversations: vec![conversation(&format!("conv_{voice_id}"))],
        calls: Vec::new(),
        created_at: at,
        last_used: at,
        state: VoiceState::Live,
    }
}

pub async fn a_registered_clone_is_found_by_voice_and_conversation(r: &dyn VoiceRegistry) {
    r.register(entry("v1", Some(caller("+31600000001")), 100))
        .await
        .unwrap();
    assert_eq!(
        r.by_voice(&voice("v1")).await.unwrap().unwrap().voice_id,
        voice("v1")
    );
    assert_eq!(
        r.by_conversation(&conversation("conv_v1"))
            .await
            .unwrap()
            .unwrap()
            .voice_id,
        voice("v1")
    );
    assert_eq!(r.by_voice(&voice("v2")).await.unwrap(), None);
    assert_eq!(r.count().await.unwrap(), 1);
}

pub async fn a_callers_recent_clone_is_reused_and_marked_used(r: &dyn VoiceRegistry) {
    let key = caller("+31600000002");
    r.register(entry("v1", Some(key.clone()), 100))
        .await
        .unwrap();

    let reused = r
        .reuse(&key, 50, &conversation("conv_again"), 200)
        .await
        .unwrap()
        .expect("the caller's clone");

    assert_eq!(reused.voice_id, voice("v1"));
    assert_eq!(reused.last_used, 200);
    assert!(reused.conversations.contains(&conversation("conv_again")));
    let found = r
        .by_conversation(&conversation("conv_again"))
        .await
        .unwrap();
    assert_eq!(found.map(|e| e.voice_id), Some(voice("v1")));
}

pub async fn a_clone_last_used_too_long_ago_or_anothers_is_not_reused(r: &dyn VoiceRegistry) {
    r.register(entry("v1", Some(caller("+31600000003")), 100))
        .await
        .unwrap();
    r.register(entry("v2", None, 100)).await.unwrap();
    let stale = r
        .reuse(&caller("+31600000003"), 101, &conversation("conv_x"), 300)
        .await
        .unwrap();
    assert_eq!(stale, None, "last used before the reuse window");
    let other = r
        .reuse(&caller("+31600000004"), 0, &conversation("conv_y"), 300)
        .await
        .unwrap();
    assert_eq!(other, None, "another caller's clone is never reused");
    let unused = r.by_conversation(&conversation("conv_x")).await.unwrap();
    assert_eq!(unused, None, "a refused reuse changes nothing");
}

pub async fn a_call_is_bound_once_and_ended(r: &dyn VoiceRegistry) {
    let key = caller("+31600000005");
    r.register(entry("v1", Some(key.clone()), 100))
        .await
        .unwrap();
    let call = CallId::parse("CA0001").unwrap();

    let bound = r.bind_call(&key, 0, &call, 150).await.unwrap().unwrap();
    assert!(bound.in_call());
    assert_eq!(bound.last_used, 150);
    let again = r.bind_call(&key, 0, &call, 160).await.unwrap().unwrap();
    assert_eq!(
        again, bound,
        "the same call bound twice gets the same answer"
    );
    assert_eq!(
        r.by_call(&call).await.unwrap().map(|e| e.voice_id),
        Some(voice("v1"))
    );

    assert!(r.end_call(&voice("v1")).await.unwrap());
    assert!(!r.end_call(&voice("v1")).await.unwrap(), "ended once");
    assert_eq!(
        r.by_voice(&voice("v1")).await.unwrap().unwrap().state,
        VoiceState::Live
    );
}

pub async fn a_clone_in_a_call_is_neither_taken_nor_evicted(r: &dyn VoiceRegistry) {
    let key = caller("+31600000006");
    r.register(entry("v_old", Some(key.clone()), 100))
        .await
        .unwrap();
    r.register(entry("v_new", None, 200)).await.unwrap();
    r.bind_call(&key, 0, &CallId::parse("CA0002").unwrap(), 300)
        .await
        .unwrap();

    assert_eq!(r.take(&voice("v_old"), false).await.unwrap(), None);
    assert_eq!(
        r.least_recently_used().await.unwrap().map(|e| e.voice_id),
        Some(voice("v_new")),
        "the clone in a call is skipped although it is older"
    );
    let forced = r.take(&voice("v_old"), true).await.unwrap();
    assert_eq!(forced.map(|e| e.voice_id), Some(voice("v_old")));
}

pub async fn a_clone_is_taken_once(r: &dyn VoiceRegistry) {
    r.register(entry("v1", None, 100)).await.unwrap();
    assert!(r.take(&voice("v1"), false).await.unwrap().is_some());
    assert_eq!(
        r.take(&voice("v1"), false).await.unwrap(),
        None,
        "by one taker"
    );
    assert_eq!(r.count().await.unwrap(), 0);
    assert!(r.entries().await.unwrap().is_empty());
}

pub async fn the_least_recently_used_clone_is_the_one_to_evict(r: &dyn VoiceRegistry) {
    let key = caller("+31600000007");
    r.register(entry("v_a", Some(key.clone()), 100))
        .await
        .unwrap();
    r.register(entry("v_b", None, 200)).await.unwrap();
    r.reuse(&key, 0, &conversation("conv_later"), 300)
        .await
        .unwrap();
    assert_eq!(
        r.least_recently_used().await.unwrap().map(|e| e.voice_id),
        Some(voice("v_b")),
        "a reuse makes the older clone the more recently used"
    );
}

pub async fn the_first_reading_of_an_agent_is_the_one_remembered(r: &dyn VoiceRegistry) {
    let agent = AgentId::parse("agent_1").unwrap();
    let original = AgentSettings {
        voice_id: Some(voice("premade")),
        first_message: Some("Hello!".into()),
    };
    assert!(r.remember_agent_original(&agent, &original).await.unwrap());
    let later = AgentSettings {
        voice_id: Some(voice("a_clone")),
        first_message: None,
    };
    assert!(!r.remember_agent_original(&agent, &later).await.unwrap());
    assert_eq!(r.agent_original(&agent).await.unwrap(), Some(original));
}

pub async fn the_callers_most_recently_used_clone_is_the_one_reused_and_bound(
    r: &dyn VoiceRegistry,
) {
    let key = caller("+31600000008");
    r.register(entry("v_older", Some(key.clone()), 100))
        .await
        .unwrap();
    r.register(entry("v_newer", Some(key.clone()), 200))
        .await
        .unwrap();
    let reused = r
        .reuse(&key, 0, &conversation("conv_r"), 300)
        .await
        .unwrap();
    assert_eq!(reused.map(|e| e.voice_id), Some(voice("v_newer")));
    let call = CallId::parse("local@host.example").unwrap();
    let bound = r.bind_call(&key, 0, &call, 400).await.unwrap().unwrap();
    assert_eq!(bound.voice_id, voice("v_newer"));
    assert_eq!(bound.calls, vec![call.clone()]);
    assert_eq!(
        bound.state,
        VoiceState::InCall {
            call: call.clone(),
            since: 400
        }
    );
    let older = r.by_voice(&voice("v_older")).await.unwrap().unwrap();
    assert_eq!(older.last_used, 100, "the other clone was not touched");
    assert_eq!(older.state, VoiceState::Live);
}

pub async fn registering_a_voice_again_replaces_its_entry_and_indexes(r: &dyn VoiceRegistry) {
    let key = caller("+31600000009");
    r.register(entry("v1", Some(key.clone()), 100))
        .await
        .unwrap();
    let mut replacement = entry("v1", None, 150);
    replacement.conversations = vec![conversation("conv_replacement")];
    r.register(replacement.clone()).await.unwrap();

    assert_eq!(r.count().await.unwrap(), 1);
    assert_eq!(
        r.by_voice(&voice("v1")).await.unwrap(),
        Some(replacement.clone())
    );
    assert_eq!(
        r.by_conversation(&conversation("conv_v1")).await.unwrap(),
        None
    );
    assert_eq!(
        r.by_conversation(&conversation("conv_replacement"))
            .await
            .unwrap(),
        Some(replacement)
    );
    let reused = r
        .reuse(&key, 0, &conversation("conv_x"), 200)
        .await
        .unwrap();
    assert_eq!(reused, None, "the replacement belongs to no caller");
}

pub async fn a_taken_clone_is_found_by_nothing_and_reused_by_nobody(r: &dyn VoiceRegistry) {
    let key = caller("+31600000010");
    r.register(entry("v1", Some(key.clone()), 100))
        .await
        .unwrap();
    let call = CallId::parse("CA0003").unwrap();
    r.bind_call(&key, 0, &call, 150).await.unwrap();
    assert!(r.end_call(&voice("v1")).await.unwrap());
    let taken = r.take(&voice("v1"), false).await.unwrap().unwrap();
    assert_eq!(taken.calls, vec![call.clone()]);

    assert_eq!(r.by_voice(&voice("v1")).await.unwrap(), None);
    assert_eq!(
        r.by_conversation(&conversation("conv_v1")).await.unwrap(),
        None
    );
    assert_eq!(r.by_call(&call).await.unwrap(), None);
    assert_eq!(
        r.reuse(&key, 0, &conversation("conv_y"), 200)
            .await
            .unwrap(),
        None
    );
    assert_eq!(r.bind_call(&key, 0, &call, 200).await.unwrap(), None);
    assert_eq!(r.least_recently_used().await.unwrap(), None);
}

pub async fn entries_are_listed_oldest_first_and_counted(r: &dyn VoiceRegistry) {
    r.register(entry("v_c", None, 300)).await.unwrap();
    r.register(entry("v_a", None, 100)).await.unwrap();
    r.register(entry("v_b", Some(caller("+31600000011")), 200))
        .await
        .unwrap();
    let listed: Vec<VoiceId> = r
        .entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.voice_id)
        .collect();
    assert_eq!(listed, vec![voice("v_a"), voice("v_b"), voice("v_c")]);
    assert_eq!(r.count().await.unwrap(), 3);
    assert_eq!(
        r.by_voice(&voice("v_b")).await.unwrap(),
        Some(entry("v_b", Some(caller("+31600000011")), 200)),
        "an entry reads back exactly as registered"
    );
}

pub async fn an_entry_remembers_only_its_latest_conversations_and_calls(r: &dyn VoiceRegistry) {
    use precall_webhook::ports::MAX_HISTORY;
    let key = caller("+31600000012");
    r.register(entry("v1", Some(key.clone()), 100))
        .await
        .unwrap();
    let extra = MAX_HISTORY + 3;
    for n in 0..extra {
        let at = 200 + n as i64;
        r.reuse(&key, 0, &conversation(&format!("conv_n{n}")), at)
            .await
            .unwrap();
        r.bind_call(&key, 0, &CallId::parse(format!("CA{n}")).unwrap(), at)
            .await
            .unwrap();
    }
    let held = r.by_voice(&voice("v1")).await.unwrap().unwrap();
    assert_eq!(held.conversations.len(), MAX_HISTORY);
    assert_eq!(held.calls.len(), MAX_HISTORY);
    let newest = CallId::parse(format!("CA{}", extra - 1)).unwrap();
    assert_eq!(held.calls.last(), Some(&newest));
    assert!(r.by_call(&newest).await.unwrap().is_some());
    assert!(
        r.by_call(&CallId::parse("CA0").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the oldest call is forgotten with its index"
    );
    assert!(
        r.by_conversation(&conversation("conv_v1"))
            .await
            .unwrap()
            .is_none(),
        "so is the oldest conversation"
    );
    assert!(
        r.by_conversation(&conversation(&format!("conv_n{}", extra - 1)))
            .await
            .unwrap()
            .is_some()
    );
}

/// Runs the whole suite against a fresh registry per rule.
#[macro_export]
macro_rules! registry_contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use $crate::registry_contract as rules;

            macro_rules! rule {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let registry = $make;
                        rules::$name(&*registry).await;
                    }
                };
            }

            rule!(a_registered_clone_is_found_by_voice_and_conversation);
            rule!(a_callers_recent_clone_is_reused_and_marked_used);
            rule!(a_clone_last_used_too_long_ago_or_anothers_is_not_reused);
            rule!(a_call_is_bound_once_and_ended);
            rule!(a_clone_in_a_call_is_neither_taken_nor_evicted);
            rule!(a_clone_is_taken_once);
            rule!(the_least_recently_used_clone_is_the_one_to_evict);
            rule!(the_first_reading_of_an_agent_is_the_one_remembered);
            rule!(the_callers_most_recently_used_clone_is_the_one_reused_and_bound);
            rule!(registering_a_voice_again_replaces_its_entry_and_indexes);
            rule!(a_taken_clone_is_found_by_nothing_and_reused_by_nobody);
            rule!(entries_are_listed_oldest_first_and_counted);
            rule!(an_entry_remembers_only_its_latest_conversations_and_calls);
        }
    };
}

registry_contract!(
    in_memory,
    std::sync::Arc::new(precall_webhook::adapters::InMemoryVoiceRegistry::new())
);

registry_contract!(
    redis,
    crate::replicas::OnRedis::start(|store| store.voice_registry()).await
);
