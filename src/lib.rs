//! ElevenLabs pre-call webhook service, as a hexagon: `domain` (pure core and use case),
//! `ports` (the traits it needs), `adapters` (their implementations), `app` (config, HTTP,
//! startup, CLI).

pub mod adapters;
pub mod app;
pub mod domain;
pub mod ports;
