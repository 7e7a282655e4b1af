//! Integration tests: the real server on a random port, in-memory stand-ins for ElevenLabs (or
//! the real HTTP adapters against a wiremock ElevenLabs, in `elevenlabs`), HTTP from the
//! outside. One test binary; one module per feature of the SPEC.

mod binary;
mod contract;
mod fake_elevenlabs;
mod helpers;
mod observed_cloner;
mod redis_server;
mod replicas;
mod replicas_binary;

mod agent_overrides;
mod backpressure;
mod body_limits;
mod circuit_breaker;
mod cleanup;
mod cli;
mod concurrency;
mod contract_check;
mod day_in_the_life;
mod deploy;
mod direct_webhook;
mod docs;
mod elevenlabs;
mod events_contract;
mod exactly_once;
mod headers;
mod health;
mod initiation;
mod initiation_override;
mod initiation_use_case;
mod internal_error;
mod invalid_payload;
mod invalid_voice_sample;
mod lease_contract;
mod ledger_contract;
mod legacy_fingerprint;
mod metrics;
mod multipart;
mod post_call;
mod redelivery;
mod redis_recovery;
mod registry_contract;
mod reuse;
mod routing;
mod shutdown;
mod signature;
mod slots;
mod storage;
mod storage_failure;
mod store_outage;
mod sweep;
mod upstream_errors;
mod use_case;
mod voice_listing;
mod webhook_json;
