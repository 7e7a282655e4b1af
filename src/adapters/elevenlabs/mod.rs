//! ElevenLabs over HTTP: the real [`VoiceCloner`](crate::ports::VoiceCloner) and
//! [`AgentConfigurator`](crate::ports::AgentConfigurator), exact to ElevenLabs' published API
//! (`POST /v1/voices/add`, `DELETE /v1/voices/{voice_id}`, `PATCH /v1/convai/agents/{agent_id}`).
//!
//! One shared `reqwest` client (rustls, pooled connections); every call retries 429, 5xx and
//! connection failures with exponential backoff and jitter, honours `Retry-After`, and never
//! goes past the webhook's deadline. The API key is a sensitive header value: it appears in no
//! log line, error message or `Debug` output.

mod agent_overrides;
mod agents;
mod client;
mod error_body;
mod retry;
mod voice_list;
mod voices;

pub use client::{ClientBuildError, ElevenLabsClient, ElevenLabsConfig};
pub use retry::RetryPolicy;

#[cfg(test)]
mod tests;
