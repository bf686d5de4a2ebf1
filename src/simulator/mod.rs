//! Employes API simulator: a deterministic stand-in for `https://connect.employes.nl/v4`.
//!
//! Serves one or more companies in the Employes API shapes under `/v4/{company_id}/…` and
//! `GET /v4/companies` (bearer auth, optional per-company keys, a rate limit per token,
//! latency, injectable faults) and a control API under `/_sim/…` (faults, stats, ground
//! truth, mutations, companies; described by `/_sim/openapi.json`). After a mutation it can
//! send a Standard-Webhooks signed webhook.
//!
//! Layout: [`SimConfig`] (config.rs) says what to serve; company.rs holds each company at run
//! time; dataset.rs/names.rs generate the data sets, data.rs their JSON shapes; api.rs is
//! `/v4`, control.rs and docs.rs the control API and its OpenAPI document; mutate.rs and
//! contracts.rs apply mutations; faults.rs, stats.rs and webhook.rs what their names say.

mod api;
mod company;
mod config;
mod contracts;
mod control;
mod data;
mod dataset;
mod docs;
mod faults;
mod mutate;
mod names;
mod stats;
mod webhook;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use anyhow::Context as _;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use secrecy::SecretString;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use company::Companies;
pub use config::{DEFAULT_COMPANY_ID, SimCompany, SimConfig};
use faults::{FaultState, Limiter};
use stats::Stats;

/// Where and how webhooks are delivered.
#[derive(Clone)]
pub(crate) struct WebhookTarget {
    /// May hold `{company_id}`, replaced per company.
    pub url: String,
    /// Signs the webhooks of companies without a secret of their own.
    pub secret: Option<SecretString>,
}

/// State shared by all routes.
pub(crate) struct Shared {
    pub companies: Companies,
    /// Simulator-wide faults, rate limit and latency.
    pub faults: Mutex<FaultState>,
    pub limiter: Mutex<Arc<Limiter>>,
    pub stats: Mutex<Stats>,
    pub fault_rng: Mutex<StdRng>,
    pub webhook: RwLock<Option<WebhookTarget>>,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
}

/// Locks a mutex, recovering the data if a panicking holder poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// JSON error answer `{"error":code,"message":text}`.
pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": code, "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// A bound, not yet running simulator.
pub struct Simulator {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    companies: Vec<SimCompany>,
}

impl Simulator {
    /// Generates the data sets and binds the listener (port 0 allowed).
    pub async fn bind(cfg: SimConfig) -> anyhow::Result<Simulator> {
        let list = cfg.company_list();
        config::validate(&cfg, &list)?;
        // The caller names the address in its context (`SIMULATOR_ADDR …`, `--addr …`).
        let listener = TcpListener::bind(cfg.addr).await?;
        let local_addr = listener.local_addr()?;
        let started = std::time::Instant::now();
        let companies = Companies::generate(cfg.seed, &list);
        tracing::debug!(
            companies = companies.len(),
            seed = cfg.seed,
            took_ms = started.elapsed().as_millis() as u64,
            "simulator data sets generated"
        );
        let webhook = cfg.webhook_url.map(|url| WebhookTarget { url, secret: cfg.webhook_secret });
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building webhook HTTP client")?;
        let shared = Arc::new(Shared {
            companies,
            faults: Mutex::new(FaultState::new(cfg.rate_limit, cfg.latency_ms)),
            limiter: Mutex::new(Arc::new(faults::new_limiter(cfg.rate_limit))),
            stats: Mutex::new(Stats::default()),
            fault_rng: Mutex::new(StdRng::seed_from_u64(cfg.seed ^ 0x5eed_fa17)),
            webhook: RwLock::new(webhook),
            http,
            shutdown: CancellationToken::new(),
        });
        Ok(Simulator { listener, local_addr, shared, companies: list })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT`
    pub fn root_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `http://IP:PORT/v4` — what the Employes client uses as `EMPLOYES_API_URL`.
    pub fn base_url(&self) -> String {
        format!("{}/v4", self.root_url())
    }

    /// The first company served (the only one unless [`SimConfig::companies`] lists more).
    pub fn company_id(&self) -> Uuid {
        self.shared.companies.first().id
    }

    /// Every company served, as configured (sizes at start; keys included).
    pub fn companies(&self) -> &[SimCompany] {
        &self.companies
    }

    /// Sets (or replaces) where signed webhooks go after mutations; `url` may hold
    /// `{company_id}`, and `secret` signs the webhooks of companies without one of their own.
    pub fn set_webhook_target(&self, url: String, secret: SecretString) {
        let mut target = self.shared.webhook.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *target = Some(WebhookTarget { url, secret: Some(secret) });
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let app = Router::new().merge(api::router()).merge(control::router()).with_state(self.shared.clone());
        let inner = self.shared.shutdown.clone();
        tracing::debug!(addr = %self.local_addr, "simulator listening");
        let result = axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.cancelled().await;
                // Wake up requests parked in an injected timeout.
                inner.cancel();
            })
            .await;
        self.shared.shutdown.cancel();
        result.context("simulator server failed")
    }
}
