//! A stateful stand-in for an ElevenLabs account, served over HTTP on `127.0.0.1:0`.
//!
//! Where wiremock answers each request on its own, this fake keeps an account: voices persist
//! until deleted and take slots, clones spend a monthly budget that deleting does not refund,
//! agents keep the voice and greeting they were patched with. Tests script faults per route —
//! including the nasty ones where ElevenLabs acts and the answer is lost — and assert the state
//! of the account at the end, not only the calls made.
//!
//! ```ignore
//! let fake = FakeElevenLabs::start().await;
//! fake.on(Route::AddVoice).next(Fault::act_then(Answer::status(503)));
//! let app = TestApp::builder().elevenlabs_at(&fake.uri()).spawn().await;
//! ```
//!
//! - `faults`: [`Fault`], [`Answer`], [`Route`], [`Gate`]: what to script.
//! - `account`, `agents`, `form`: the account's state and rules, and the strict clone form.
//! - `routes`, `server`: the HTTP side; `log`: what was received.
//! - `inspect`: what tests read and assert on the handle.

mod account;
mod agents;
mod faults;
mod form;
mod inspect;
mod log;
mod routes;
mod server;
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use account::{FakeSample, FakeVoice, Subscription};
pub use faults::{Answer, Fault, Gate, Route};
pub use log::{Exchange, Outcome};

use account::Account;
use faults::FaultScript;

/// Custom-voice slots of a fresh fake account (a Starter plan's 10).
pub const DEFAULT_VOICE_LIMIT: usize = 10;
/// Monthly add/edit budget of a fresh fake account (what lower tiers report).
pub const DEFAULT_MAX_VOICE_ADD_EDITS: u32 = 95;

/// Everything the server and the handle share, behind one lock (never held across an await).
struct State {
    account: Account,
    script: FaultScript,
    log: Vec<Exchange>,
}

struct Shared {
    state: Mutex<State>,
    api_key: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves consistent state behind.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running fake ElevenLabs. Dropping it stops the server, its held requests included.
pub struct FakeElevenLabs {
    uri: String,
    shared: Arc<Shared>,
    /// Dropped with the handle: every task of the server sees the channel close and ends.
    _shutdown: watch::Sender<()>,
}

/// Configures a [`FakeElevenLabs`] before it starts.
#[derive(Debug, Clone)]
pub struct FakeElevenLabsBuilder {
    api_key: String,
    voice_limit: usize,
    max_voice_add_edits: u32,
    voice_add_edit_counter: u32,
    now_unix: Option<i64>,
}

impl FakeElevenLabsBuilder {
    /// The key every request must carry as `xi-api-key` (default: the test apps' key).
    pub fn api_key(mut self, key: &str) -> Self {
        key.clone_into(&mut self.api_key);
        self
    }

    /// How many custom voices the account may hold (default [`DEFAULT_VOICE_LIMIT`]).
    pub fn voice_limit(mut self, limit: usize) -> Self {
        self.voice_limit = limit;
        self
    }

    /// The monthly add/edit budget (default [`DEFAULT_MAX_VOICE_ADD_EDITS`]).
    pub fn max_voice_add_edits(mut self, max: u32) -> Self {
        self.max_voice_add_edits = max;
        self
    }

    /// Add/edits already spent this month (default 0).
    pub fn voice_add_edit_counter(mut self, spent: u32) -> Self {
        self.voice_add_edit_counter = spent;
        self
    }

    /// Stops the fake's clock at `unix` seconds (default: it follows the system clock).
    pub fn now_unix(mut self, unix: i64) -> Self {
        self.now_unix = Some(unix);
        self
    }

    /// Binds `127.0.0.1:0` and serves the account on a background task.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(self) -> FakeElevenLabs {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake binds a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let mut account = Account::new(self.voice_limit, self.max_voice_add_edits);
        account.voice_add_edit_counter = self.voice_add_edit_counter;
        if let Some(unix) = self.now_unix {
            account.set_now(unix);
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                account,
                script: FaultScript::default(),
                log: Vec::new(),
            }),
            api_key: self.api_key,
        });
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(server::serve(listener, shared.clone(), stopped));
        FakeElevenLabs {
            uri: format!("http://{address}"),
            shared,
            _shutdown: shutdown,
        }
    }
}

impl FakeElevenLabs {
    /// A fake with the defaults: the test apps' API key, [`DEFAULT_VOICE_LIMIT`] slots,
    /// [`DEFAULT_MAX_VOICE_ADD_EDITS`] add/edits, the system clock, no voices, no agents.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Configures a fake before starting it.
    pub fn builder() -> FakeElevenLabsBuilder {
        FakeElevenLabsBuilder {
            api_key: crate::helpers::ELEVENLABS_API_KEY.to_owned(),
            voice_limit: DEFAULT_VOICE_LIMIT,
            max_voice_add_edits: DEFAULT_MAX_VOICE_ADD_EDITS,
            voice_add_edit_counter: 0,
            now_unix: None,
        }
    }

    /// `http://127.0.0.1:PORT`, for `ELEVENLABS_API_BASE_URL`.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The key requests must carry as `xi-api-key`.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Scripts faults for requests to `route`.
    pub fn on(&self, route: Route) -> RouteFaults<'_> {
        RouteFaults { fake: self, route }
    }

    /// Creates (or replaces) agent `agent_id`, speaking with `voice_id` and greeting with
    /// `first_message`, its override permissions off.
    pub fn add_agent(&self, agent_id: &str, voice_id: &str, first_message: &str) {
        let mut state = self.shared.lock();
        let now = state.account.now();
        state
            .account
            .agents
            .add(agent_id, voice_id, first_message, now);
    }

    /// Seeds a voice that is not ours (another deployment's, or the user's own): it takes a
    /// slot but spends no add/edit and may exceed the limit. Returns its id.
    pub fn add_foreign_voice(&self, name: &str, labels: &[(&str, &str)]) -> String {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.shared.lock().account.seed_voice(name, labels)
    }

    /// Changes how many custom voices the account may hold (voices over it stay).
    pub fn set_voice_limit(&self, limit: usize) {
        self.shared.lock().account.voice_limit = limit;
    }

    /// Changes the monthly add/edit budget.
    pub fn set_max_voice_add_edits(&self, max: u32) {
        self.shared.lock().account.max_voice_add_edits = max;
    }

    /// The fake's unix time (what a voice created now gets as `created_at_unix`).
    pub fn now_unix(&self) -> i64 {
        self.shared.lock().account.now()
    }

    /// Stops the fake's clock at `unix` seconds.
    pub fn set_now_unix(&self, unix: i64) {
        self.shared.lock().account.set_now(unix);
    }

    /// Moves the fake's clock `seconds` on (stopping it there).
    pub fn advance_clock(&self, seconds: i64) {
        self.shared.lock().account.advance(seconds);
    }
}

/// The fault script of one route; see [`FakeElevenLabs::on`].
pub struct RouteFaults<'a> {
    fake: &'a FakeElevenLabs,
    route: Route,
}

impl RouteFaults<'_> {
    /// Applies `fault` to one request, after the faults queued before it (FIFO).
    pub fn next(&self, fault: Fault) -> &Self {
        self.fake.shared.lock().script.push(self.route, fault);
        self
    }

    /// Applies `fault` to every request from now on, once the queued faults are used up.
    pub fn always(&self, fault: Fault) -> &Self {
        self.fake
            .shared
            .lock()
            .script
            .set_standing(self.route, fault);
        self
    }

    /// Forgets the queued and the standing faults of this route.
    pub fn clear(&self) -> &Self {
        self.fake.shared.lock().script.clear(self.route);
        self
    }

    /// How many queued faults are still waiting for a request (0: all were used).
    pub fn pending(&self) -> usize {
        self.fake.shared.lock().script.queued(self.route)
    }
}
