//! Wiring and serving: builds the use case from configuration and backends, binds the
//! listener (port 0 in tests), and serves until a shutdown signal, then drains in-flight
//! requests for the grace period.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};

use super::config::{Config, LifecycleSettings};
use super::http::{self, BodyLimits, WebhookApi};
use super::metrics::Metrics;
use super::stores::Stores;
use crate::adapters::elevenlabs::{ElevenLabsClient, ElevenLabsConfig};
use crate::adapters::resilience::{
    BreakerSettings, CircuitBreaker, CloneLimiter, GuardedAgentConfigurator, GuardedVoiceCloner,
    LimiterSettings,
};
use crate::adapters::{
    DiskSampleStore, InMemoryAgentConfigurator, InMemoryVoiceCloner, SymphoniaProbe, SystemClock,
};
use crate::app::service::{
    BackgroundWork, InitiationService, MetricsService, PostCallService, PreCallService,
    SweepSchedule, sweep_periodically,
};
use crate::domain::{
    AgentUpdateMode, AnswerInitiation, Cleanup, CleanupSettings, Deliveries, DeliverySettings,
    InitiationSettings, PersonaliseCall, PersonalisePorts, PersonaliseSettings, RING_WINDOW,
    ROLLBACK_BUDGET, ReleaseAfterCall, Retirement, RetryPolicy, Sweep, SweepPorts, SweepSettings,
};
use crate::ports::{
    AgentConfigurator, Clock, LeaseHolder, SampleStore, VoiceCloner, VoiceRegistry,
};

/// Pause between two looks for a voice a failed delivery may have left.
const CLEANUP_POLL_INTERVAL: Duration = Duration::from_secs(2);

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
            owner: config.lifecycle.owner_tag.clone(),
        })?;
        let client = Arc::new(client);
        Ok(Self {
            cloner: client.clone(),
            agents: client,
            clock: Arc::new(SystemClock),
        })
    }

    /// The in-memory stand-ins used by `serve --offline`, marking clones with the configured
    /// owner tag.
    pub fn offline(config: &Config) -> Self {
        Self {
            cloner: Arc::new(InMemoryVoiceCloner::with_owner(
                config.lifecycle.owner_tag.clone(),
            )),
            agents: Arc::new(InMemoryAgentConfigurator::new()),
            clock: Arc::new(SystemClock),
        }
    }
}

/// What the wiring builds: the API (both webhooks' services) and the sweep, over one registry,
/// cloner and agent configurator.
pub struct Services {
    /// The handlers and their services.
    pub api: WebhookApi,
    /// Removes expired and orphaned clones.
    pub sweep: Arc<Sweep>,
    /// The stores, shared or in memory (the sweep's lease among them).
    pub stores: Stores,
    /// The metrics registry, and the handles everything records in.
    pub metrics: Arc<Metrics>,
}

/// Builds the API (handlers and their dependencies) from configuration and backends.
///
/// # Errors
/// When the sample store cannot be opened.
pub fn build_api(config: &Config, backends: Backends) -> anyhow::Result<WebhookApi> {
    Ok(build_services(config, backends)?.api)
}

/// Builds the application services (and everything behind them) and the sweep from
/// configuration and backends; both webhooks and the sweep share the registry, the guarded ports
/// and the background work.
///
/// # Errors
/// When the sample store cannot be opened.
pub fn build_services(config: &Config, backends: Backends) -> anyhow::Result<Services> {
    let store: Option<Arc<dyn SampleStore>> = if config.storage_enabled {
        let store = DiskSampleStore::open(&config.storage_path)
            .context("VOICE_SAMPLE_STORAGE_PATH: cannot create or write the storage directory")?;
        Some(Arc::new(store))
    } else {
        None
    };
    let reliability = &config.reliability;
    let breaker = Arc::new(CircuitBreaker::new(BreakerSettings {
        threshold: reliability.breaker_threshold,
        cool_down: reliability.breaker_cool_down,
    }));
    let permits = Arc::new(CloneLimiter::new(LimiterSettings {
        max_in_flight: reliability.max_concurrent_clones,
        max_waiting: reliability.clone_queue_capacity,
        max_wait: reliability.clone_queue_timeout,
    }));
    // The one metrics registry. The backends are metered under the breaker, so what is counted
    // is what reached ElevenLabs; the breaker and the queue are read at each scrape.
    let metrics = Metrics::new(&breaker, &permits);
    let cloner: Arc<dyn VoiceCloner> = Arc::new(GuardedVoiceCloner::new(
        metrics.meter_cloner(backends.cloner),
        Arc::clone(&breaker),
    ));
    let agents: Arc<dyn AgentConfigurator> = Arc::new(GuardedAgentConfigurator::new(
        metrics.meter_agents(backends.agents),
        breaker,
    ));
    let stores = Stores::from_config(config)?;
    let longest = config.longest_webhook();
    let deliveries = Arc::new(Deliveries::new(
        Arc::clone(&stores.ledger),
        Arc::clone(&backends.clock),
        DeliverySettings {
            lease: longest + Duration::from_secs(30),
            max_wait: longest,
        },
    ));
    let registry: Arc<dyn VoiceRegistry> = Arc::clone(&stores.registry);
    // One retirement for eviction, release after the call and the sweep.
    let retirement = Arc::new(Retirement::new(
        Arc::clone(&cloner),
        Arc::clone(&agents),
        Arc::clone(&registry),
        Arc::clone(&backends.clock),
        config.lifecycle.agent_defaults.clone(),
    ));
    let use_case = PersonaliseCall::new(
        PersonalisePorts {
            cloner: Arc::clone(&cloner),
            permits,
            registry: Arc::clone(&registry),
            agents: Arc::clone(&agents),
            store,
            clock: Arc::clone(&backends.clock),
            probe: Arc::new(SymphoniaProbe),
        },
        PersonaliseSettings {
            greeting: config.first_message.clone(),
            sample_limits: config.sample_limits,
            upstream_deadline: config.upstream.deadline,
            min_clone_attempt: config.upstream.min_clone_attempt,
            retry: RetryPolicy::with_max_retries(config.upstream.max_retries),
            reuse_max_age: config.lifecycle.reuse_max_age,
            caller_keys: config.caller_keys(),
            max_live_clones: config.lifecycle.max_live_clones,
            agent_update: config.lifecycle.agent_update,
        },
        Arc::clone(&retirement),
    );
    let initiation = InitiationService {
        token: config.initiation.token.clone(),
        use_case: Arc::new(AnswerInitiation::new(
            Arc::clone(&registry),
            Arc::clone(&backends.clock),
            InitiationSettings {
                caller_keys: config.caller_keys(),
                greeting: config.first_message.clone(),
                reuse_max_age: config.lifecycle.reuse_max_age,
            },
        )),
        dynamic_variables: Arc::clone(&config.initiation.dynamic_variables),
    };
    let background = BackgroundWork::new();
    let post_call = PostCallService {
        secret: config.post_call_secret.clone(),
        clock: Arc::clone(&backends.clock),
        seen: Arc::clone(&stores.seen),
        release: ReleaseAfterCall::new(Arc::clone(&registry)),
        retirement: Arc::clone(&retirement),
        background: background.clone(),
        metrics: metrics.lifecycle(),
    };
    let sweep = Sweep::new(
        SweepPorts {
            cloner: Arc::clone(&cloner),
            agents: Arc::clone(&agents),
            registry: Arc::clone(&registry),
            clock: Arc::clone(&backends.clock),
        },
        SweepSettings {
            reuse_max_age: kept_for(&config.lifecycle),
            orphan_grace: config.lifecycle.orphan_grace,
            max_call: config.lifecycle.max_call,
        },
        retirement,
    );
    let scrape = MetricsService {
        metrics: Arc::clone(&metrics),
        registry: Arc::clone(&registry),
    };
    let cleanup = Cleanup::new(
        cloner,
        agents,
        registry,
        Arc::clone(&deliveries),
        Arc::clone(&backends.clock),
        CleanupSettings {
            budget: ROLLBACK_BUDGET,
            poll_interval: CLEANUP_POLL_INTERVAL,
        },
    );
    let pre_call = PreCallService {
        secret: config.webhook_secret.clone(),
        clock: backends.clock,
        deliveries,
        use_case: Arc::new(use_case),
        cleanup: Arc::new(cleanup),
        background,
        metrics: metrics.lifecycle(),
    };
    Ok(Services {
        api: WebhookApi {
            pre_call: Arc::new(pre_call),
            post_call: Arc::new(post_call),
            initiation: Arc::new(initiation),
            stores: stores.clone(),
            metrics: Arc::new(scrape),
        },
        sweep: Arc::new(sweep),
        stores,
        metrics,
    })
}

/// How long after its last use the sweep keeps a live clone. In `override` mode a clone made
/// by a pre-call webhook reaches its call only when that call rings and binds it, so it is kept
/// at least the ring window — even with `VOICE_REUSE_MAX_AGE_SECONDS=0`.
fn kept_for(lifecycle: &LifecycleSettings) -> Duration {
    match lifecycle.agent_update {
        AgentUpdateMode::Patch => lifecycle.reuse_max_age,
        AgentUpdateMode::Override => lifecycle.reuse_max_age.max(RING_WINDOW),
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: TcpAcceptor,
    address: SocketAddr,
    api: WebhookApi,
    limits: BodyLimits,
    post_call_limits: BodyLimits,
    max_header_bytes: usize,
    grace: std::time::Duration,
    sweep: Arc<Sweep>,
    sweep_interval: Duration,
    stores: Stores,
    metrics: Arc<Metrics>,
}

impl Application {
    /// Wires everything and binds `config.host:config.port`.
    ///
    /// # Errors
    /// When wiring fails or the address cannot be bound.
    pub async fn build(config: &Config, backends: Backends) -> anyhow::Result<Self> {
        let services = build_services(config, backends)?;
        let api = services.api;
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
            post_call_limits: BodyLimits {
                max_bytes: config.post_call_max_body_bytes,
                timeout: config.body_timeout,
            },
            max_header_bytes: config.reliability.max_header_bytes,
            grace: config.shutdown_grace,
            sweep: services.sweep,
            sweep_interval: config.lifecycle.sweep_interval,
            stores: services.stores,
            metrics: services.metrics,
        })
    }

    /// The address actually bound (its port is the real one when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves (and sweeps, unless `VOICE_SWEEP_INTERVAL_SECONDS` is 0) until `shutdown`
    /// completes, then stops accepting and sweeping and gives in-flight webhooks — their
    /// spawned upstream work and clean-ups included — the grace period to finish.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) {
        let background = self.api.pre_call.background.clone();
        let stop_sweeping = tokio_util::sync::CancellationToken::new();
        if !self.sweep_interval.is_zero() {
            let schedule = SweepSchedule {
                interval: self.sweep_interval,
                lease: Arc::clone(&self.stores.lease),
                holder: LeaseHolder::new(format!("replica-{}", uuid::Uuid::new_v4())),
            };
            background.spawn(sweep_periodically(
                self.sweep,
                schedule,
                stop_sweeping.clone(),
                self.metrics.lifecycle(),
            ));
        }
        let stopping = Arc::new(std::sync::OnceLock::new());
        let signalled = {
            let stopping = Arc::clone(&stopping);
            let stop_sweeping = stop_sweeping.clone();
            async move {
                shutdown.await;
                stop_sweeping.cancel();
                let _ = stopping.set(tokio::time::Instant::now());
            }
        };
        let routes = http::routes(
            self.api,
            self.limits,
            self.post_call_limits,
            self.max_header_bytes,
        );
        http::serve(self.acceptor, routes, signalled, self.grace).await;
        let since = stopping
            .get()
            .map_or(Duration::ZERO, |at: &tokio::time::Instant| at.elapsed());
        let left = self.grace.saturating_sub(since);
        if !background.drain(left).await {
            tracing::error!(
                still_running = background.running(),
                "grace period over with upstream work still running; what it leaves on the \
                 ElevenLabs account is the sweep's"
            );
        }
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
