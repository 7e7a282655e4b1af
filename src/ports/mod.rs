//! Ports: the traits the domain's use case needs from the outside world. Each is small, async
//! where it does I/O, and speaks only domain types. Adapters in `crate::adapters` implement them.

mod agent_configurator;
mod clock;
mod delivery_ledger;
mod sample_store;
mod upstream_error;
mod voice_cloner;

pub use agent_configurator::{AgentConfigurator, AgentUpdate};
pub use clock::Clock;
pub use delivery_ledger::{Claim, DeliveryLedger, LedgerError};
pub use sample_store::{SampleStore, SampleStoreError, SampleToStore, StoredSample};
pub use upstream_error::UpstreamError;
pub use voice_cloner::{CloneRequest, ClonedVoice, VoiceCloner};
