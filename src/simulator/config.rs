//! What a simulator serves: [`SimConfig`] and its companies ([`SimCompany`]).

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use super::dataset::{mix, rng_uuid};
use super::names::{SECTORS, SURNAMES};
use crate::webhook_signature::WebhookKey;

/// Company id served by default (also the embedded simulator's company).
pub use crate::domain::DEFAULT_COMPANY_ID;

/// Settings of one simulator instance.
///
/// With `companies` empty it serves one company (`company_id`, `employees`, `with_history`),
/// as the first version did. [`SimConfig::with_companies`] fills `companies` the way
/// `simulate --companies N` does; entries may then be edited (size, key, webhook secret).
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Listen address (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// The first company (the only one when `companies` is empty).
    pub company_id: Uuid,
    /// Employees of each generated company (of the only one when `companies` is empty).
    pub employees: usize,
    /// How many of them (the first ones by employee number) have employment history.
    pub with_history: usize,
    /// Seed of the deterministic data sets (and of the ids of companies after the first).
    pub seed: u64,
    /// Requests per second each distinct bearer token may send to `/v4`, over all companies
    /// (token bucket, burst = this value).
    pub rate_limit: u32,
    /// Latency added to every `/v4` response.
    pub latency_ms: u64,
    /// Where to POST signed webhooks after mutations; `{company_id}` is replaced by the company's id.
    pub webhook_url: Option<String>,
    /// `whsec_<base64>` secret used to sign webhooks (a company's own secret wins).
    pub webhook_secret: Option<SecretString>,
    /// Every company served, in order; the first is the default of the control routes.
    /// Empty = the one company described by `company_id`, `employees` and `with_history`.
    pub companies: Vec<SimCompany>,
}

/// One simulated company.
#[derive(Clone)]
pub struct SimCompany {
    pub id: Uuid,
    pub name: String,
    /// Employees generated at start.
    pub employees: usize,
    /// How many of them have employment history (at most `employees`).
    pub with_history: usize,
    /// When set, the company accepts only this bearer token (401 for any other).
    pub key: Option<String>,
    /// Signs this company's webhooks instead of [`SimConfig::webhook_secret`].
    pub webhook_secret: Option<SecretString>,
}

impl fmt::Debug for SimCompany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCompany")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("employees", &self.employees)
            .field("with_history", &self.with_history)
            .field("key", &self.key.as_ref().map(|_| "[REDACTED]"))
            .field("webhook_secret", &self.webhook_secret)
            .finish()
    }
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
            companies: Vec::new(),
        }
    }
}

pub(crate) fn default_company_id() -> Uuid {
    // The constant is a valid UUID literal; parsing it cannot fail.
    Uuid::parse_str(DEFAULT_COMPANY_ID).unwrap_or(Uuid::nil())
}

impl SimConfig {
    /// `n` (at least 1) companies as `simulate --companies n` makes them: the first is
    /// `company_id`, the others get ids derived from `seed`; each has `employees` employees,
    /// `with_history` of them with history, no key of its own. Replaces `companies`; call it
    /// after setting those fields (`SimConfig { seed: 7, ..SimConfig::default() }.with_companies(3)`).
    pub fn with_companies(mut self, n: usize) -> Self {
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        self.companies = (0..n.max(1))
            .map(|k| {
                let mut id = if k == 0 { self.company_id } else { company_id(self.seed, k as u64) };
                // A collision of random 122-bit ids cannot happen in practice; skip one anyway.
                let mut retry = 0;
                while !ids.insert(id) {
                    retry += 1;
                    id = company_id(self.seed ^ retry, k as u64);
                }
                let mut name = company_name(self.seed, k as u64);
                if !names.insert(name.clone()) {
                    name = format!("{name} {}", k + 1);
                    names.insert(name.clone());
                }
                SimCompany {
                    id,
                    name,
                    employees: self.employees,
                    with_history: self.with_history,
                    key: None,
                    webhook_secret: None,
                }
            })
            .collect();
        self
    }

    /// The companies served: `companies`, or the single company when it is empty.
    pub fn company_list(&self) -> Vec<SimCompany> {
        if self.companies.is_empty() { self.clone().with_companies(1).companies } else { self.companies.clone() }
    }

    /// The entry of company `id` in `companies`, to size it or give it a key.
    pub fn company_mut(&mut self, id: Uuid) -> Option<&mut SimCompany> {
        self.companies.iter_mut().find(|c| c.id == id)
    }
}

/// The id of the `k`-th company (k ≥ 1) for a seed: a v4-shaped UUID, the same every run.
fn company_id(seed: u64, k: u64) -> Uuid {
    rng_uuid(&mut StdRng::seed_from_u64(mix(seed ^ 0xc0de_c0de, k)))
}

/// A plausible Dutch company name for the `k`-th company of a seed.
fn company_name(seed: u64, k: u64) -> String {
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x4a3e_5eed, k));
    let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("Jansen");
    let sector = SECTORS.choose(&mut rng).copied().unwrap_or("Techniek");
    format!("{surname} {sector} B.V.")
}

/// Checks a resolved company list (ids unique, a webhook secret for every company when a
/// webhook URL is set).
pub(crate) fn validate(cfg: &SimConfig, companies: &[SimCompany]) -> anyhow::Result<()> {
    anyhow::ensure!(cfg.rate_limit >= 1, "rate_limit must be at least 1");
    let mut seen = HashSet::new();
    for c in companies {
        anyhow::ensure!(seen.insert(c.id), "company {} is listed twice", c.id);
        anyhow::ensure!(!c.key.as_deref().is_some_and(|k| k.trim().is_empty()), "company {}: empty key", c.id);
    }
    let secrets = cfg.webhook_secret.iter().chain(companies.iter().filter_map(|c| c.webhook_secret.as_ref()));
    for secret in secrets {
        WebhookKey::from_whsec(secret.expose_secret()).map_err(|e| anyhow::anyhow!("webhook secret: {e}"))?;
    }
    if cfg.webhook_url.is_some() && cfg.webhook_secret.is_none() {
        let unsigned = companies.iter().filter(|c| c.webhook_secret.is_none()).count();
        anyhow::ensure!(
            unsigned == 0,
            "webhook_url needs webhook_secret ({unsigned} companies have no webhook secret of their own)"
        );
    }
    anyhow::ensure!(
        cfg.webhook_secret.is_none() || cfg.webhook_url.is_some(),
        "webhook_url and webhook_secret must be given together"
    );
    Ok(())
}
