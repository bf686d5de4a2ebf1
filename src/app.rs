//! Building and running the service: `App::build` connects and binds; `run_until_stopped`
//! runs the selected roles until the token is cancelled, then drains them.

use std::{
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::Context as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::SecretString;
use tokio::{net::TcpListener, task::JoinSet, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::{
    bus::Bus,
    cli::Role,
    companies::{self, Registry, RegistrySettings, SimulatedCompany},
    config::Config,
    db::{self, Db},
    domain::minimise::DigestKey,
    http::{self, AppState},
    privacy, scheduler,
    simulator::{SimConfig, Simulator},
    startup,
    sync::{
        issues, milestones, outbox,
        worker::{self, Worker, WorkerCtx},
    },
    watch,
};

pub struct App {
    config: Arc<Config>,
    roles: Vec<Role>,
    db: Db,
    /// The HTTP API's pool (`DATABASE_API_CONNECTIONS`, `db::api_pool`).
    api_db: Db,
    bus: Bus,
    listener: Option<TcpListener>,
    simulator: Option<Simulator>,
    companies: Registry,
    digest_key: Arc<DigestKey>,
    metrics: PrometheusHandle,
}

/// The process-wide Prometheus recorder (installed once, shared by every `App` in a process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0])
                .expect("static buckets are valid")
                .install_recorder()
                .expect("the metrics recorder is installed once")
        })
        .clone()
}

/// Postgres (migrated) and NATS (streams created): what every command needs. Waits for both
/// together at most `STARTUP_TIMEOUT`.
pub async fn connect(config: &Config) -> anyhow::Result<(Db, Bus)> {
    let (timeout, deadline) = (config.runtime.startup_timeout, Instant::now() + config.runtime.startup_timeout);
    startup::wait_for_postgres(config.database_url(), timeout, deadline).await?;
    let db = db::pool_of(config.database_url(), config.pools.max).context("DATABASE_URL")?;
    db::migrate(&db, config.employes.v1_company()).await?;
    // A rotation of SECRETS_KEY before anything opens a sealed value.
    if let (Some(current), Some(previous)) = (&config.secrets_key, &config.secrets_key_previous) {
        companies::rotation::rotate(&db, current, previous).await?;
    }
    // The data migration after the schema ones: versions stored before minimisation are rewritten.
    let key = privacy::digest_key::load(&db, config.secrets_key.as_ref(), None).await?;
    privacy::upgrade::minimise_stored_versions(&db, &key).await.context("minimising stored employee versions")?;
    let bus = startup::connect_nats(&config.nats_urls, &config.subject_prefix, timeout, deadline).await?;
    bus.ensure_streams(config.stream_replicas).await?;
    Ok((db, bus))
}

/// A background task that ends without a result, as a role of the join set.
async fn unit(task: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    task.await;
    Ok(())
}

impl App {
    pub async fn build(config: Config, roles: Vec<Role>) -> anyhow::Result<App> {
        let (db, bus) = connect(&config).await?;
        let digest_key = Arc::new(privacy::digest_key::load(&db, config.secrets_key.as_ref(), None).await?);
        let listener = if roles.contains(&Role::Http) {
            Some(TcpListener::bind(config.http_addr).await.with_context(|| format!("HTTP_ADDR {}", config.http_addr))?)
        } else {
            None
        };
        let (simulator, base_url) = match &config.employes.api_url {
            Some(url) => (None, url.clone()),
            None => {
                let sim = Simulator::bind(
                    SimConfig {
                        addr: config.simulator_addr,
                        company_id: config.employes.v1_company().unwrap_or_else(crate::config::default_company_id),
                        ..SimConfig::default()
                    }
                    .with_companies(config.employes.simulator_companies),
                )
                .await
                .with_context(|| format!("SIMULATOR_ADDR {}", config.simulator_addr))?;
                tracing::warn!(url = %sim.base_url(), "EMPLOYES_API_URL is not set: syncing against the built-in simulator");
                let base = sim.base_url();
                (Some(sim), base)
            }
        };
        if let (Some(sim), Some(listener), Some(secret)) = (&simulator, &listener, &config.webhook_secret_raw) {
            let port = listener.local_addr()?.port();
            sim.set_webhook_target(format!("http://127.0.0.1:{port}/webhooks/employes"), SecretString::clone(secret));
        }
        let simulated: Vec<SimulatedCompany> = simulator
            .iter()
            .flat_map(|sim| sim.companies())
            .map(|c| SimulatedCompany { id: c.id, name: c.name.clone() })
            .collect();
        companies::bootstrap(&db, &config.employes, &simulated).await.context("registering companies")?;
        let settings = RegistrySettings::from_config(&config, base_url);
        let companies = Registry::load(db.clone(), Some(bus.clone()), settings, config.secrets_key.clone()).await?;
        if companies.ids().is_empty() {
            tracing::warn!("no company is registered yet: add one (EMPLOYES_COMPANY_ID, or the companies API)");
        }
        let metrics = metrics_handle();
        // The API's own connections: its list queries planned for their arguments, and a poll of
        // changes never waits for a connection behind the worker's statements (`db::api_pool`).
        let api_db = db::api_pool(config.database_url(), config.pools.api).context("DATABASE_URL")?;
        Ok(App {
            config: Arc::new(config),
            roles,
            db,
            api_db,
            bus,
            listener,
            simulator,
            companies,
            digest_key,
            metrics,
        })
    }

    /// The bound HTTP address (port 0 resolved).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn port(&self) -> u16 {
        self.local_addr().map_or(0, |a| a.port())
    }

    pub fn simulator_url(&self) -> Option<String> {
        self.simulator.as_ref().map(Simulator::root_url)
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    pub fn companies(&self) -> &Registry {
        &self.companies
    }

    /// Run every role until `shutdown` fires; then stop accepting, drain in-flight requests,
    /// let the worker finish or release its sessions, and return within `SHUTDOWN_TIMEOUT`.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let cfg = self.config.clone();
        let mut tasks = JoinSet::new();
        // The simulator outlives the worker's last requests; it stops after everything else.
        let sim_stop = CancellationToken::new();
        if let Some(sim) = self.simulator {
            let stop = sim_stop.clone();
            tokio::spawn(async move { sim.run_until_stopped(stop).await });
        }
        tasks.spawn(unit(self.companies.clone().run_reloader(shutdown.clone())));
        // Stopped after the drain, which then stores the last request counts.
        let budget_stop = CancellationToken::new();
        tokio::spawn(companies::budget::run_flusher(self.db.clone(), self.companies.clone(), budget_stop.clone()));
        if self.roles.contains(&Role::Worker) {
            let ctx = WorkerCtx {
                db: self.db.clone(),
                bus: self.bus.clone(),
                companies: self.companies.clone(),
                fetch_concurrency: cfg.worker.fetch_concurrency,
                milestones: cfg.milestones.clone(),
                digest_key: self.digest_key.clone(),
                cancel: shutdown.clone(),
            };
            tasks.spawn(Worker::new(ctx, cfg.worker.clone()).run(shutdown.clone()));
            tasks.spawn(unit(worker::run_reaper(self.db.clone(), cfg.worker.clone(), shutdown.clone())));
            let every = cfg.worker.heartbeat.max(Duration::from_secs(1));
            tasks.spawn(unit(outbox::run_sweeper(self.db.clone(), self.bus.clone(), every, shutdown.clone())));
            let endpoints = crate::endpoints::Dispatcher {
                db: self.db.clone(),
                bus: self.bus.clone(),
                secrets: cfg.secrets_key.clone(),
                cfg: Arc::new(cfg.endpoints.clone()),
                client: crate::endpoints::guard::client(cfg.endpoints.timeout, cfg.endpoints.allow_private_networks)?,
            };
            tasks.spawn(unit(endpoints.run(shutdown.clone())));
        }
        if self.roles.contains(&Role::Scheduler) {
            let (db, bus, companies) = (self.db.clone(), self.bus.clone(), self.companies.clone());
            let window = cfg.worker.coalesce_window;
            tasks.spawn(unit(scheduler::run(db, bus, companies, window, shutdown.clone())));
            let (db, bus, companies) = (self.db.clone(), self.bus.clone(), self.companies.clone());
            tasks.spawn(unit(watch::run(db, bus, companies, window, shutdown.clone())));
            tasks.spawn(unit(watch::run_pruner(self.db.clone(), shutdown.clone())));
            let checks = issues::run_key_expiry_checks(self.db.clone(), self.companies.clone(), shutdown.clone());
            tasks.spawn(unit(checks));
            let (db, bus, companies) = (self.db.clone(), self.bus.clone(), self.companies.clone());
            let daily = milestones::daily::run(db, bus, companies, cfg.milestones.clone(), shutdown.clone());
            tasks.spawn(unit(daily));
            tasks.spawn(unit(privacy::retention::run(self.db.clone(), cfg.runtime.retention, shutdown.clone())));
        }
        if let Some(listener) = self.listener {
            let bus = Arc::new(self.bus.clone());
            let limits = Arc::new(http::limits::Limits::new(&cfg.limits));
            tasks.spawn(unit(limits.clone().run_sweeper(shutdown.clone())));
            let state = AppState {
                db: self.api_db.clone(),
                hub: crate::sync::fanout::Hub::new(bus.clone(), self.api_db.clone()),
                bus,
                config: cfg.clone(),
                companies: self.companies.clone(),
                metrics: self.metrics.clone(),
                shutdown: shutdown.clone(),
                limits,
            };
            let stop = shutdown.clone();
            tracing::info!(addr = %listener.local_addr()?, "HTTP listening");
            // Writes that stall for the request timeout drop their connection (a client that
            // stopped reading a stream or an export holds nothing for long).
            let listener = http::listener::Listener::new(listener, cfg.request_timeout);
            let service = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                http::listener::Peer,
            >(http::service(state));
            tasks.spawn(async move {
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await
                    .context("HTTP server")
            });
        }
        shutdown.cancelled().await;
        tracing::info!("shutting down");
        let drained = tokio::time::timeout(cfg.runtime.shutdown_timeout, async {
            while let Some(result) = tasks.join_next().await {
                match result {
                    Ok(Err(e)) => {
                        tracing::error!(error = format!("{e:#}"), "a role ended with an error")
                    }
                    Err(e) => tracing::error!(error = %e, "a role panicked"),
                    Ok(Ok(())) => {}
                }
            }
        })
        .await;
        sim_stop.cancel();
        if drained.is_err() {
            tracing::warn!("shutdown timeout reached; abandoning unfinished work (it will be redelivered)");
            tasks.abort_all();
        }
        budget_stop.cancel();
        companies::budget::flush(&self.db, &self.companies).await;
        self.api_db.close().await;
        self.db.close().await;
        Ok(())
    }
}
