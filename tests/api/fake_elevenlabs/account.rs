//! The state of the fake ElevenLabs account: its voices (kept until deleted), its slot limit and
//! monthly add/edit budget, its agents, its clock and the page tokens it handed out. No HTTP
//! here: every operation takes parsed input and returns what ElevenLabs would decide.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::agents::Agents;

/// One voice on the account, as the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeVoice {
    /// `fake_voice_000001`, … in creation order; never reused.
    pub voice_id: String,
    /// The `name` it was created with.
    pub name: String,
    /// Always `cloned`: every custom voice of this account is an instant clone.
    pub category: String,
    /// The `labels` it was created with.
    pub labels: BTreeMap<String, String>,
    /// The `description` it was created with.
    pub description: Option<String>,
    /// The fake's clock when it was created.
    pub created_at_unix: i64,
    /// The file parts it was created from (empty for seeded voices).
    pub samples: Vec<FakeSample>,
    /// The `remove_background_noise` flag it was created with.
    pub remove_background_noise: bool,
}

impl FakeVoice {
    /// The value of label `key`, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// One `files` part of a clone request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeSample {
    /// The part's file name.
    pub file_name: String,
    /// The part's content type, if it had one.
    pub content_type: Option<String>,
    /// How many bytes it held.
    pub size_bytes: usize,
}

/// The account's numbers, as `GET /v1/user/subscription` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription {
    /// Custom voices on the account (ours and foreign).
    pub voice_slots_used: usize,
    /// How many custom voices the account may hold.
    pub voice_limit: usize,
    /// Voices added this month (deleting refunds nothing).
    pub voice_add_edit_counter: u32,
    /// The monthly add/edit budget.
    pub max_voice_add_edits: u32,
}

/// A voice to create, parsed from `POST /v1/voices/add`.
#[derive(Debug)]
pub(super) struct NewVoice {
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) labels: BTreeMap<String, String>,
    pub(super) samples: Vec<FakeSample>,
    pub(super) remove_background_noise: bool,
}

/// An answer other than 200, decided by the account.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Refusal {
    /// `{"detail":{"status":code,"message":…}}` with this HTTP status.
    Business {
        status: u16,
        code: &'static str,
        message: String,
    },
    /// `422 HTTPValidationError`: `{"detail":[{"loc":…,"msg":…,"type":…}, …]}`.
    Invalid(Vec<Value>),
    /// `{"detail":"…"}` with this HTTP status: FastAPI's and Starlette's own answers.
    Plain { status: u16, detail: String },
}

impl Refusal {
    pub(super) fn business(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self::Business {
            status,
            code,
            message: message.into(),
        }
    }

    /// One validation error at `loc` (e.g. `["body", "files", 0]`).
    pub(super) fn invalid(loc: Value, msg: &str, kind: &str) -> Self {
        Self::Invalid(vec![validation_error(loc, msg, kind)])
    }

    pub(super) fn status(&self) -> u16 {
        match self {
            Self::Business { status, .. } => *status,
            Self::Invalid(_) => 422,
            Self::Plain { status, .. } => *status,
        }
    }

    pub(super) fn body(&self) -> Value {
        match self {
            Self::Business { code, message, .. } => {
                json!({"detail": {"status": code, "message": message}})
            }
            Self::Invalid(errors) => json!({ "detail": errors }),
            Self::Plain { detail, .. } => json!({ "detail": detail }),
        }
    }
}

/// One item of an `HTTPValidationError`.
pub(super) fn validation_error(loc: Value, msg: &str, kind: &str) -> Value {
    json!({"loc": loc, "msg": msg, "type": kind})
}

/// A parsed `GET /v2/voices` query.
#[derive(Debug, Default)]
pub(super) struct ListQuery {
    pub(super) search: Option<String>,
    pub(super) category: Option<String>,
    /// `false` for `voice_type=default|community`: the account's voices are all personal.
    pub(super) personal: bool,
    pub(super) page_size: usize,
    pub(super) next_page_token: Option<String>,
}

/// The fake's unix clock: the system time, or a fixed instant a test set.
#[derive(Debug, Default)]
struct Clock {
    fixed: Option<i64>,
}

impl Clock {
    fn now(&self) -> i64 {
        self.fixed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        })
    }
}

/// A voice and its place in creation order (what page tokens point at).
#[derive(Debug)]
struct Stored {
    seq: u64,
    voice: FakeVoice,
}

/// The account.
#[derive(Debug)]
pub(super) struct Account {
    voices: Vec<Stored>,
    next_seq: u64,
    pub(super) voice_limit: usize,
    pub(super) max_voice_add_edits: u32,
    pub(super) voice_add_edit_counter: u32,
    clock: Clock,
    /// Page token → sequence number of the last voice of the page it follows.
    page_tokens: HashMap<String, u64>,
    pub(super) agents: Agents,
}

impl Account {
    pub(super) fn new(voice_limit: usize, max_voice_add_edits: u32) -> Self {
        Self {
            voices: Vec::new(),
            next_seq: 1,
            voice_limit,
            max_voice_add_edits,
            voice_add_edit_counter: 0,
            clock: Clock::default(),
            page_tokens: HashMap::new(),
            agents: Agents::default(),
        }
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Stops the clock at `unix` seconds.
    pub(super) fn set_now(&mut self, unix: i64) {
        self.clock.fixed = Some(unix);
    }

    /// Stops the clock `seconds` after the current time.
    pub(super) fn advance(&mut self, seconds: i64) {
        let now = self.now();
        self.clock.fixed = Some(now.saturating_add(seconds));
    }

    /// Instant Voice Cloning: refused when the slots are full (400) or the monthly budget is
    /// spent (403), in that order; otherwise the voice exists and the budget is charged.
    pub(super) fn add_voice(&mut self, new: NewVoice) -> Result<String, Refusal> {
        if self.voices.len() >= self.voice_limit {
            return Err(Refusal::business(
                400,
                "voice_limit_reached",
                format!(
                    "You have reached your maximum amount of custom voices ({} / {}). \
                     You can upgrade your subscription to increase your custom voice limit.",
                    self.voices.len(),
                    self.voice_limit
                ),
            ));
        }
        if self.voice_add_edit_counter >= self.max_voice_add_edits {
            return Err(Refusal::business(
                403,
                "voice_add_edit_limit_reached",
                format!(
                    "You have reached your monthly voice add/edit limit ({}).",
                    self.max_voice_add_edits
                ),
            ));
        }
        self.voice_add_edit_counter += 1;
        Ok(self.insert(new))
    }

    /// A voice that is not ours, for test set-up: takes a slot, spends no budget, ignores the
    /// limit.
    pub(super) fn seed_voice(&mut self, name: &str, labels: BTreeMap<String, String>) -> String {
        self.insert(NewVoice {
            name: name.to_owned(),
            description: None,
            labels,
            samples: Vec::new(),
            remove_background_noise: false,
        })
    }

    fn insert(&mut self, new: NewVoice) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        let voice_id = format!("fake_voice_{seq:06}");
        self.voices.push(Stored {
            seq,
            voice: FakeVoice {
                voice_id: voice_id.clone(),
                name: new.name,
                category: "cloned".to_owned(),
                labels: new.labels,
                description: new.description,
                created_at_unix: self.clock.now(),
                samples: new.samples,
                remove_background_noise: new.remove_background_noise,
            },
        });
        voice_id
    }

    pub(super) fn delete_voice(&mut self, voice_id: &str) -> Result<(), Refusal> {
        let index = self
            .voices
            .iter()
            .position(|v| v.voice.voice_id == voice_id)
            .ok_or_else(|| {
                Refusal::business(
                    404,
                    "voice_not_found",
                    format!("A voice with the voice_id {voice_id} was not found."),
                )
            })?;
        self.voices.remove(index);
        Ok(())
    }

    pub(super) fn voices(&self) -> impl Iterator<Item = &FakeVoice> {
        self.voices.iter().map(|v| &v.voice)
    }

    /// `GET /v2/voices`: filters, then one page after the token's position, in creation order.
    pub(super) fn list_voices(&mut self, query: &ListQuery) -> Result<Value, Refusal> {
        let after = match &query.next_page_token {
            None => 0,
            Some(token) => *self.page_tokens.get(token).ok_or_else(|| {
                Refusal::invalid(
                    json!(["query", "next_page_token"]),
                    "Invalid next_page_token",
                    "value_error",
                )
            })?,
        };
        let matching: Vec<&Stored> = self
            .voices
            .iter()
            .filter(|v| query.personal && matches(&v.voice, query))
            .collect();
        let rest: Vec<&Stored> = matching.iter().copied().filter(|v| v.seq > after).collect();
        let page = &rest[..rest.len().min(query.page_size)];
        let has_more = rest.len() > page.len();
        let voices: Vec<Value> = page.iter().map(|v| listed(&v.voice)).collect();
        let total_count = matching.len();
        let next_page_token = match page.last() {
            Some(last) if has_more => {
                let token = format!("fake_page_{:04}", self.page_tokens.len() + 1);
                self.page_tokens.insert(token.clone(), last.seq);
                Some(token)
            }
            _ => None,
        };
        Ok(json!({
            "voices": voices,
            "has_more": has_more,
            "total_count": total_count,
            "next_page_token": next_page_token,
        }))
    }

    pub(super) fn subscription(&self) -> Subscription {
        Subscription {
            voice_slots_used: self.voices.len(),
            voice_limit: self.voice_limit,
            voice_add_edit_counter: self.voice_add_edit_counter,
            max_voice_add_edits: self.max_voice_add_edits,
        }
    }

    /// `SubscriptionResponseModel`, every required field present.
    pub(super) fn subscription_body(&self) -> Value {
        let s = self.subscription();
        json!({
            "tier": "starter",
            "character_count": 0,
            "character_limit": 30_000,
            "max_character_limit_extension": null,
            "can_extend_character_limit": false,
            "allowed_to_extend_character_limit": false,
            "next_character_count_reset_unix": self.now() + 30 * 86_400,
            "voice_slots_used": s.voice_slots_used,
            "professional_voice_slots_used": 0,
            "voice_limit": s.voice_limit,
            "max_voice_add_edits": s.max_voice_add_edits,
            "voice_add_edit_counter": s.voice_add_edit_counter,
            "professional_voice_limit": 0,
            "can_extend_voice_limit": false,
            "can_use_instant_voice_cloning": true,
            "can_use_professional_voice_cloning": false,
            "currency": "usd",
            "status": "active",
            "billing_period": "monthly_period",
            "character_refresh_period": "monthly_period",
        })
    }
}

/// `search` (case-insensitive, in name, description and label values) and `category`.
fn matches(voice: &FakeVoice, query: &ListQuery) -> bool {
    let category = query
        .category
        .as_deref()
        .is_none_or(|c| c == voice.category);
    let search = query.search.as_deref().is_none_or(|term| {
        let term = term.to_lowercase();
        let found = |text: &str| text.to_lowercase().contains(&term);
        found(&voice.name)
            || voice.description.as_deref().is_some_and(found)
            || voice.labels.values().any(|v| found(v))
    });
    category && search
}

/// A voice as `GET /v2/voices` lists it.
fn listed(voice: &FakeVoice) -> Value {
    json!({
        "voice_id": voice.voice_id,
        "name": voice.name,
        "category": voice.category,
        "labels": voice.labels,
        "description": voice.description,
        "created_at_unix": voice.created_at_unix,
    })
}
