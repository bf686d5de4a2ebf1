//! Employes API simulator: a deterministic stand-in for `https://connect.employes.nl/v4`.
//!
//! Serves the Employes API shapes under `/v4/{company_id}/…` (bearer auth, rate limit,
//! latency, injectable faults) and a control API under `/_sim/…` (faults, stats, ground
//! truth, mutations). After a mutation it can send a Standard-Webhooks signed webhook.

mod api;
mod control;
mod data;
mod dataset;
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

use data::World;
use faults::{FaultState, Limiter};
use stats::Stats;

/// Company id served by default (also the embedded simulator's company).
pub use crate::domain::DEFAULT_COMPANY_ID;

/// Settings of one simulator instance.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// The only company the API serves.
    pub company_id: Uuid,
    /// Number of employees in the generated data set.
    pub employees: usize,
    /// How many of them (the first ones by employee number) have employment history.
    pub with_history: usize,
    /// Seed of the deterministic data set.
    pub seed: u64,
    /// Requests per second allowed on `/v4` (token bucket, burst = this value).
    pub rate_limit: u32,
    /// Latency added to every `/v4` response.
    pub latency_ms: u64,
    /// Where to POST signed webhooks after mutations.
    pub webhook_url: Option<String>,
    /// `whsec_<base64>` secret used to sign webhooks.
    pub webhook_secret: Option<SecretString>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8090)),
            company_id: default_company_id(),
            employees: 110,
            with_history: 99,
            seed: 42,
            rate_limit: 5,
            latency_ms: 30,
            webhook_url: None,
            webhook_secret: None,
        }
    }
}

fn default_company_id() -> Uuid {
    // The constant is a valid UUID literal; parsing it cannot fail.
    Uuid::parse_str(DEFAULT_COMPANY_ID).unwrap_or(Uuid::nil())
}

/// Where and how webhooks are delivered.
#[derive(Clone)]
pub(crate) struct WebhookTarget {
    pub url: String,
    pub secret: SecretString,
}

/// State shared by all routes.
pub(crate) struct Shared {
    pub company_id: Uuid,
    pub world: Mutex<World>,
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
}

impl Simulator {
    /// Generates the data set and binds the listener (port 0 allowed).
    pub async fn bind(cfg: SimConfig) -> anyhow::Result<Simulator> {
        anyhow::ensure!(cfg.rate_limit >= 1, "rate_limit must be at least 1");
        let listener =
            TcpListener::bind(cfg.addr).await.with_context(|| format!("binding simulator to {}", cfg.addr))?;
        let local_addr = listener.local_addr()?;
        let world = dataset::generate(&cfg);
        tracing::debug!(employees = world.employees.len(), seed = cfg.seed, "simulator data set generated");
        let webhook = match (cfg.webhook_url, cfg.webhook_secret) {
            (Some(url), Some(secret)) => Some(WebhookTarget { url, secret }),
            (None, None) => None,
            _ => anyhow::bail!("webhook_url and webhook_secret must be given together"),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building webhook HTTP client")?;
        let shared = Arc::new(Shared {
            company_id: cfg.company_id,
            world: Mutex::new(world),
            faults: Mutex::new(FaultState::new(cfg.rate_limit, cfg.latency_ms)),
            limiter: Mutex::new(Arc::new(faults::new_limiter(cfg.rate_limit))),
            stats: Mutex::new(Stats::default()),
            fault_rng: Mutex::new(StdRng::seed_from_u64(cfg.seed ^ 0x5eed_fa17)),
            webhook: RwLock::new(webhook),
            http,
            shutdown: CancellationToken::new(),
        });
        Ok(Simulator { listener, local_addr, shared })
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

    /// The company served.
    pub fn company_id(&self) -> Uuid {
        self.shared.company_id
    }

    /// Sets (or replaces) where signed webhooks go after mutations.
    pub fn set_webhook_target(&self, url: String, secret: SecretString) {
        let mut target = self.shared.webhook.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *target = Some(WebhookTarget { url, secret });
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
