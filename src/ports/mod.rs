//! Ports: the traits the domain's use case needs from the outside world. Each is small, async
//! where it does I/O, and speaks only domain types. Adapters in `crate::adapters` implement them.

mod agent_configurator;
mod audio_probe;
mod clock;
mod clone_permits;
mod delivery_ledger;
mod post_call_events;
mod sample_store;
mod store_health;
mod sweep_lease;
mod upstream_error;
mod voice_cloner;
mod voice_registry;

pub use agent_configurator::{AgentConfigurator, AgentSettings, AgentUpdate, OverridePermissions};
pub use audio_probe::AudioProbe;
pub use clock::Clock;
pub use clone_permits::{ClonePermit, ClonePermits};
pub use delivery_ledger::{Claim, ClaimToken, DeliveryLedger, LedgerError};
pub use post_call_events::{EventKey, EventStoreError, SeenEvents};
pub use sample_store::{SampleStore, SampleStoreError, SampleToStore, StoredSample};
pub use store_health::{StoreHealth, StoreUnreachable};
pub use sweep_lease::{LeaseError, LeaseHolder, SweepLease};
pub use upstream_error::UpstreamError;
pub use voice_cloner::{CloneRequest, ClonedVoice, FoundVoice, ListedVoice, VoiceCloner};
pub use voice_registry::{MAX_HISTORY, RegistryError, VoiceEntry, VoiceRegistry, VoiceState};
