//! Wiring and serving: builds the use case from configuration and backends, binds the
//! listener (port 0 in tests), and serves until a shutdown signal, then drains in-flight
//! requests for the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use super::config::Config;
use super::http::{self, BodyLimits, WebhookApi};
use crate::adapters::elevenlabs::{ElevenLabsClient, ElevenLabsConfig, RetryPolicy};
use crate::adapters::{
    DiskSampleStore, InMemoryAgentConfigurator, InMemoryVoiceCloner, SystemClock,
};
use crate::domain::{PersonaliseCall, PersonalisePorts, PersonaliseSettings};
use crate::ports::{AgentConfigurator, Clock, SampleStore, VoiceCloner};

/// The outside world the service talks to.
#[derive(Clone)]
pub struct Backends {
    /// Clones and deletes voices.
    pub cloner: Arc<dyn VoiceCloner>,
    /// Updates agents.
    pub agents: Arc<dyn AgentConfigurator>,
    /// The current time.
    pub clock: Arc<dyn Clock>,
}

impl Backends {
    /// ElevenLabs over HTTP, from configuration (needs `ELEVENLABS_API_KEY`).
    ///
    /// # Errors
    /// When the key is missing or the client cannot be built.
    pub fn elevenlabs(config: &Config) -> anyhow::Result<Self> {
        let api_key = config
            .api_key
            .clone()
            .context("ELEVENLABS_API_KEY: required but not set")?;
        let client = ElevenLabsClient::new(ElevenLabsConfig {
            base_url: config.api_base_url.clone(),
            api_key,
            connect_timeout: config.upstream.connect_timeout,
            request_timeout: config.upstream.request_timeout,
            retry: RetryPolicy::with_max_retries(config.upstream.max_retries),
        })?;
        let client = Arc::new(client);
        Ok(Self {
            cloner: client.clone(),
            agents: client,
            clock: Arc::new(SystemClock),
        })
    }

    /// The in-memory stand-ins used by `serve --offline`.
    pub fn offline() -> Self {
        Self {
            cloner: Arc::new(InMemoryVoiceCloner::new()),
            agents: Arc::new(InMemoryAgentConfigurator::new()),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Builds the API (handlers and their dependencies) from configuration and backends.
///
/// # Errors
/// When the sample store cannot be opened.
pub fn build_api(config: &Config, backends: Backends) -> anyhow::Result<WebhookApi> {
    let store: Option<Arc<dyn SampleStore>> = if config.storage_enabled {
        let store = DiskSampleStore::open(&config.storage_path)
            .context("VOICE_SAMPLE_STORAGE_PATH: cannot create or write the storage directory")?;
        Some(Arc::new(store))
    } else {
        None
    };
    let use_case = PersonaliseCall::new(
        PersonalisePorts {
            cloner: backends.cloner,
            agents: backends.agents,
            store,
            clock: Arc::clone(&backends.clock),
        },
        PersonaliseSettings {
            greeting: config.first_message.clone(),
            sample_limits: config.sample_limits,
            upstream_deadline: config.upstream.deadline,
        },
    );
    Ok(WebhookApi {
        use_case: Arc::new(use_case),
        secret: config.webhook_secret.clone(),
        clock: backends.clock,
    })
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    api: WebhookApi,
    limits: BodyLimits,
    grace: std::time::Duration,
}

impl Application {
    /// Wires everything and binds `config.host:config.port`.
    ///
    /// # Errors
    /// When wiring fails or the address cannot be bound.
    pub async fn build(config: &Config, backends: Backends) -> anyhow::Result<Self> {
        let api = build_api(config, backends)?;
        let address = SocketAddr::new(config.host, config.port);
        let acceptor = TcpListener::bind(address)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let address = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("listener has no local address")?;
        Ok(Self {
            acceptor,
            address,
            api,
            limits: BodyLimits {
                max_bytes: config.max_body_bytes(),
                timeout: config.body_timeout,
            },
            grace: config.shutdown_grace,
        })
    }

    /// The address actually bound (its port is the real one when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then stops accepting and gives in-flight requests
    /// the grace period to finish.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let routes = http::routes(self.api, self.limits);
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(routes, shutdown, Some(self.grace))
            .await
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight webhooks");
}
