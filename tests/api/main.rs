//! Integration tests: the real server on a random port, in-memory stand-ins for ElevenLabs (or
//! the real HTTP adapters against a wiremock ElevenLabs, in `elevenlabs`), HTTP from the
//! outside. One test binary; one module per feature of the SPEC.

mod helpers;

mod body_limits;
mod cli;
mod concurrency;
mod docs;
mod elevenlabs;
mod health;
mod internal_error;
mod invalid_payload;
mod invalid_voice_sample;
mod multipart;
mod signature;
mod storage;
mod upstream_errors;
mod use_case;
mod webhook_json;
