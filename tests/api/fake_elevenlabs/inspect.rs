//! What tests read from the fake: the account's voices, agents and numbers, the request log,
//! and the SPEC's "exactly once at ElevenLabs" invariant as ready-made assertions.

use serde_json::Value;

use super::{Exchange, FakeElevenLabs, FakeVoice, Route, Subscription};

impl FakeElevenLabs {
    /// Every voice on the account, in creation order.
    pub fn voices(&self) -> Vec<FakeVoice> {
        self.shared.lock().account.voices().cloned().collect()
    }

    /// The voice with this id, if the account holds it.
    pub fn voice(&self, voice_id: &str) -> Option<FakeVoice> {
        self.shared
            .lock()
            .account
            .voices()
            .find(|v| v.voice_id == voice_id)
            .cloned()
    }

    /// The voices labelled `conversation_id` = `conversation_id`, in creation order.
    pub fn voices_for_conversation(&self, conversation_id: &str) -> Vec<FakeVoice> {
        self.shared
            .lock()
            .account
            .voices()
            .filter(|v| v.label("conversation_id") == Some(conversation_id))
            .cloned()
            .collect()
    }

    /// How many voices the account holds.
    pub fn voice_count(&self) -> usize {
        self.shared.lock().account.voices().count()
    }

    /// The account's numbers, as `GET /v1/user/subscription` reports them.
    pub fn subscription(&self) -> Subscription {
        self.shared.lock().account.subscription()
    }

    /// Agent `agent_id` as `GET /v1/convai/agents/{id}` returns it now.
    pub fn agent(&self, agent_id: &str) -> Option<Value> {
        self.shared
            .lock()
            .account
            .agents
            .get(agent_id)
            .ok()
            .cloned()
    }

    /// The agent's `conversation_config.tts.voice_id` now.
    pub fn agent_voice_id(&self, agent_id: &str) -> Option<String> {
        self.agent(agent_id)?
            .pointer("/conversation_config/tts/voice_id")?
            .as_str()
            .map(str::to_owned)
    }

    /// The agent's `conversation_config.agent.first_message` now.
    pub fn agent_first_message(&self, agent_id: &str) -> Option<String> {
        self.agent(agent_id)?
            .pointer("/conversation_config/agent/first_message")?
            .as_str()
            .map(str::to_owned)
    }

    /// The agent's `platform_settings.overrides` now: which per-call overrides it allows.
    pub fn agent_overrides(&self, agent_id: &str) -> Option<Value> {
        self.agent(agent_id)?
            .pointer("/platform_settings/overrides")
            .cloned()
    }

    /// Every PATCH body the agent accepted, in order, as received.
    pub fn agent_patches(&self, agent_id: &str) -> Vec<Value> {
        self.shared.lock().account.agents.patches(agent_id)
    }

    /// The voice the agent was created with, then every voice a PATCH put on it, in order.
    pub fn agent_voices_ever(&self, agent_id: &str) -> Vec<String> {
        self.shared.lock().account.agents.voices_ever(agent_id)
    }

    /// Every request received so far, in order of decision (see [`Outcome::Answered`]).
    pub fn requests(&self) -> Vec<Exchange> {
        self.shared.lock().log.clone()
    }

    /// Every request that reached `route` (authenticated or not), in order of decision.
    pub fn requests_to(&self, route: Route) -> Vec<Exchange> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|e| e.route == Some(route))
            .cloned()
            .collect()
    }

    /// How many requests reached `route` (authenticated or not).
    pub fn request_count(&self, route: Route) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|e| e.route == Some(route))
            .count()
    }

    /// Requests the fake does not model (answered 404): a test usually wants none.
    pub fn unmodelled_requests(&self) -> Vec<Exchange> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|e| e.route.is_none())
            .cloned()
            .collect()
    }

    /// Asserts that the account holds at most one voice for `conversation_id`, and returns it.
    ///
    /// # Panics
    /// When it holds two or more.
    #[track_caller]
    pub fn assert_at_most_one_voice_for(&self, conversation_id: &str) -> Option<FakeVoice> {
        let mut voices = self.voices_for_conversation(conversation_id);
        assert!(
            voices.len() <= 1,
            "the account holds {} voices for {conversation_id}: {voices:#?}",
            voices.len()
        );
        voices.pop()
    }

    /// The SPEC's invariant: the account holds either no voice for `conversation_id`, or
    /// exactly one, and `agent_id` speaks with it. Returns that voice.
    ///
    /// # Panics
    /// When there are two or more, or the one left is not the agent's voice (an orphan).
    #[track_caller]
    pub fn assert_only_the_agents_voice_for(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> Option<FakeVoice> {
        let voice = self.assert_at_most_one_voice_for(conversation_id)?;
        let agent_voice = self.agent_voice_id(agent_id);
        assert_eq!(
            agent_voice.as_deref(),
            Some(voice.voice_id.as_str()),
            "the account holds {} for {conversation_id}, but agent {agent_id} speaks with \
             {agent_voice:?}: an orphan voice",
            voice.voice_id
        );
        Some(voice)
    }

    /// Asserts that every request got a 2xx answer and that the fake modelled each of them.
    ///
    /// # Panics
    /// Listing the requests that did not.
    #[track_caller]
    pub fn assert_every_request_succeeded(&self) {
        let failed: Vec<Exchange> = self
            .requests()
            .into_iter()
            .filter(|e| !e.succeeded())
            .collect();
        assert!(failed.is_empty(), "requests that failed: {failed:#?}");
    }
}
