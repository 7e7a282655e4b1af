//! Wiring and serving: builds the use case from configuration and backends, binds the
//! listener (port 0 in tests), and serves until a shutdown signal, then drains in-flight
//! requests for the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::Server;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use super::config::Config;
use super::http::{self, BodyLimits, WebhookApi};
use crate::adapters::InMemoryDeliveryLedger;
use crate::adapters::elevenlabs::{ElevenLabsClient, ElevenLabsConfig, RetryPolicy};
use crate::adapters::resilience::{
    BreakerSettings, CircuitBreaker, CloneLimiter, GuardedAgentConfigurator, GuardedVoiceCloner,
    LimiterSettings,
};
use crate::adapters::{
    DiskSampleStore, InMemoryAgentConfigurator, InMemoryVoiceCloner, SystemClock,
};
use crate::domain::{
    Deliveries, DeliverySettings, PersonaliseCall, PersonalisePorts, PersonaliseSettings,
    ROLLBACK_BUDGET,
};
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
    let reliability = &config.reliability;
    // Breaker outside, limiter inside: while ElevenLabs is down nobody queues for a slot.
    let breaker = Arc::new(CircuitBreaker::new(BreakerSettings {
        threshold: reliability.breaker_threshold,
        cool_down: reliability.breaker_cool_down,
    }));
    let limited: Arc<dyn VoiceCloner> = Arc::new(CloneLimiter::new(
        backends.cloner,
        LimiterSettings {
            max_in_flight: reliability.max_concurrent_clones,
            max_waiting: reliability.clone_queue_capacity,
            max_wait: reliability.clone_queue_timeout,
        },
    ));
    let cloner = Arc::new(GuardedVoiceCloner::new(limited, Arc::clone(&breaker)));
    let agents = Arc::new(GuardedAgentConfigurator::new(backends.agents, breaker));
    let ledger = Arc::new(InMemoryDeliveryLedger::new(
        reliability.idempotency_retention,
        reliability.idempotency_max_entries,
    ));
    // Longest a webhook can take once claimed: the queue, the upstream work and a rollback.
    let longest = reliability.clone_queue_timeout + config.upstream.deadline + ROLLBACK_BUDGET;
    let deliveries = Deliveries::new(
        ledger,
        DeliverySettings {
            lease: longest + Duration::from_secs(30),
            max_wait: longest,
        },
    );
    let use_case = PersonaliseCall::new(
        PersonalisePorts {
            cloner,
            agents,
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
        deliveries: Arc::new(deliveries),
    })
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    api: WebhookApi,
    limits: BodyLimits,
    max_header_bytes: usize,
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
            max_header_bytes: config.reliability.max_header_bytes,
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
        let routes = http::routes(self.api, self.limits, self.max_header_bytes);
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
