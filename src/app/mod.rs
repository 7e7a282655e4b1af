//! The application: configuration, telemetry, metrics, the HTTP surface, wiring and the CLI.

pub mod cli;
pub mod config;
pub mod http;
pub mod log_writer;
pub mod metrics;
pub mod runtime;
pub mod service;
pub mod startup;
pub mod stores;
pub mod telemetry;
pub mod tone;
