//! Every company's runtime, in memory: the settings in effect, an Employes client with the
//! company's key, and its webhook keys. Loaded at start (a stored secret that does not open
//! stops the start, naming `SECRETS_KEY`), reloaded on `<p>.control.companies` (announced after
//! every company write) and every 30 s, so every replica sees changes.
//!
//! Rate limiters belong to API keys, not companies: companies sharing a key share one limiter
//! at the lowest of their rate limits; companies with different keys never wait for each other.
//! Limiters are found by the SHA-256 of the key (kept in memory only).

use std::{
    collections::{BTreeMap, HashMap},
    str::FromStr,
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use anyhow::Context as _;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    Company, CompanyRuntime, KeySource, RegistrySettings, admin,
    announce::subscribe,
    secrets::{Field, SecretsKey},
};
use crate::{
    bus::Bus,
    config::ConfigError,
    db::{Db, companies},
    employes::{ClientParts, EmployesClient, Limiter, RequestTally, limiter},
    webhook_signature::WebhookKey,
};

/// How often every replica reloads even without an announcement.
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// Why a request's company could not be settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    /// No company named, and the caller sees more (or fewer) than one.
    Required,
    /// The named company does not exist or is not visible to the caller.
    Unknown,
}

type Companies = BTreeMap<Uuid, Arc<CompanyRuntime>>;

/// SHA-256 of an API key.
type KeyDigest = [u8; 32];

/// Each key's limiter, with the rate it was made for.
type KeyLimiters = HashMap<KeyDigest, (u32, Arc<Limiter>)>;

/// A company's secrets, opened.
struct Opened {
    key: Option<(SecretString, KeyDigest)>,
    source: KeySource,
    webhook_keys: Vec<WebhookKey>,
}

struct Inner {
    db: Db,
    bus: Option<Bus>,
    settings: RegistrySettings,
    secrets: Option<SecretsKey>,
    http: reqwest::Client,
    companies: RwLock<Arc<Companies>>,
    limiters: Mutex<KeyLimiters>,
    /// Every company client's requests, for the daily budget.
    tally: RequestTally,
    /// Bumped after every reload that changed something.
    generation: watch::Sender<u64>,
    /// The subscription to `<p>.control.companies`, made at load (so no announcement made after
    /// the start is missed) and handed to [`Registry::run_reloader`].
    announcements: Mutex<Option<async_nats::Subscriber>>,
}

/// The companies of this deployment (cheap to clone).
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

impl Registry {
    /// Load every company. Fails, naming `SECRETS_KEY`, when a stored secret does not open.
    pub async fn load(
        db: Db,
        bus: Option<Bus>,
        settings: RegistrySettings,
        secrets: Option<SecretsKey>,
    ) -> anyhow::Result<Registry> {
        let http = crate::employes::http_client(settings.request_timeout)?;
        let announcements = match &bus {
            Some(bus) => subscribe(bus).await,
            None => None,
        };
        let registry = Registry(Arc::new(Inner {
            db,
            bus,
            settings,
            secrets,
            http,
            companies: RwLock::new(Arc::default()),
            limiters: Mutex::default(),
            tally: RequestTally::default(),
            generation: watch::Sender::new(0),
            announcements: Mutex::new(announcements),
        }));
        registry.reload().await?;
        Ok(registry)
    }

    /// Read every company again and rebuild what changed.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let rows = companies::all(&self.0.db).await.context("loading companies")?;
        let opened = rows.iter().map(|r| self.open(r)).collect::<Result<Vec<_>, ConfigError>>()?;
        // The limit of each key: the lowest among the companies that use it.
        let mut rates: HashMap<KeyDigest, u32> = HashMap::new();
        for (row, o) in rows.iter().zip(&opened) {
            if let Some((_, digest)) = &o.key {
                let rate = self.rate_of(row);
                rates.entry(*digest).and_modify(|r| *r = (*r).min(rate)).or_insert(rate);
            }
        }
        let limiters = self.limiters_for(&rates);
        let mut next = Companies::new();
        for (row, Opened { key, source, webhook_keys }) in rows.iter().zip(opened) {
            let company = Company::from(row);
            let (client, rate_limit) = match key {
                Some((key, digest)) => {
                    let (rate, limiter) = limiters[&digest].clone();
                    let client = EmployesClient::new(ClientParts {
                        http: self.0.http.clone(),
                        base_url: self.0.settings.base_url.clone(),
                        company: company.id,
                        key,
                        limiter,
                        max_attempts: self.0.settings.max_attempts,
                        tally: self.0.tally.clone(),
                    });
                    (Some(client), rate)
                }
                None => (None, self.rate_of(row)),
            };
            let runtime = CompanyRuntime {
                schedule: self.schedule_of(&company),
                watch_interval: match company.watch_interval {
                    None => self.0.settings.default_watch_interval,
                    Some(d) if d.is_zero() => None,
                    Some(d) => Some(d.max(crate::config::MIN_WATCH_INTERVAL)),
                },
                history_refresh_after: company
                    .history_refresh_after
                    .unwrap_or(self.0.settings.default_history_refresh_after),
                company,
                client,
                key_source: source,
                rate_limit,
                webhook_keys,
            };
            next.insert(runtime.company.id, Arc::new(runtime));
        }
        let changed = {
            let mut current = self.0.companies.write().unwrap_or_else(|p| p.into_inner());
            let changed = !same(&current, &next);
            *current = Arc::new(next);
            changed
        };
        if changed {
            self.0.generation.send_modify(|g| *g += 1);
        }
        Ok(())
    }

    /// A company's key (with its digest), where it comes from, and its webhook keys.
    fn open(&self, row: &companies::CompanyRow) -> Result<Opened, ConfigError> {
        let unopenable = |what: &str| ConfigError {
            key: "SECRETS_KEY",
            problem: format!(
                "{what}, but company {} has secrets stored under it; set the SECRETS_KEY they were stored with",
                row.id
            ),
        };
        let secrets = || self.0.secrets.as_ref().ok_or_else(|| unopenable("not set"));
        let (key, source) = match &row.api_key_enc {
            Some(sealed) => {
                let key = secrets()?
                    .open_text(row.id, Field::ApiKey, sealed)
                    .map_err(|_| unopenable("does not open the stored secrets"))?;
                (Some(key), KeySource::Stored)
            }
            None if row.from_env => match &self.0.settings.env_api_key {
                Some(key) => (Some(key.clone()), KeySource::Environment),
                None => (None, KeySource::Missing),
            },
            None if row.simulated => (Some(SecretString::from(format!("simulator:{}", row.id))), KeySource::Simulator),
            None => (None, KeySource::Missing),
        };
        let webhook_keys = match &row.webhook_secrets_enc {
            Some(sealed) => admin::open_webhook_secrets(secrets()?, row.id, sealed)
                .map_err(|_| unopenable("does not open the stored secrets"))?,
            None => Vec::new(),
        };
        let key = key.map(|k| {
            let digest: KeyDigest = Sha256::digest(k.expose_secret().as_bytes()).into();
            (k, digest)
        });
        Ok(Opened { key, source, webhook_keys })
    }

    fn rate_of(&self, row: &companies::CompanyRow) -> u32 {
        row.rate_limit.map_or(self.0.settings.default_rate_limit, |r| r.clamp(1, 10_000) as u32)
    }

    /// The company's schedule in effect; one that does not parse (it was validated when
    /// stored) is off, with a warning.
    fn schedule_of(&self, company: &Company) -> Option<cron::Schedule> {
        match company.schedule.as_deref().map(str::trim) {
            None => self.0.settings.default_schedule.clone(),
            Some("off") => None,
            Some(expr) => match cron::Schedule::from_str(expr) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(company = %company.id, error = %e, "the company's schedule does not parse; it is off");
                    None
                }
            },
        }
    }

    /// One limiter per key at its rate: kept while the rate stays, replaced when it changes.
    fn limiters_for(&self, rates: &HashMap<KeyDigest, u32>) -> KeyLimiters {
        let mut limiters = self.0.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters.retain(|digest, _| rates.contains_key(digest));
        for (digest, rate) in rates {
            let current = limiters.get(digest).filter(|(r, _)| r == rate);
            if current.is_none() {
                limiters.insert(*digest, (*rate, limiter(*rate)));
            }
        }
        limiters.clone()
    }

    /// A snapshot of every company, by id.
    pub fn snapshot(&self) -> Arc<BTreeMap<Uuid, Arc<CompanyRuntime>>> {
        self.0.companies.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn get(&self, id: Uuid) -> Option<Arc<CompanyRuntime>> {
        self.snapshot().get(&id).cloned()
    }

    /// Every company, by id.
    pub fn all(&self) -> Vec<Arc<CompanyRuntime>> {
        self.snapshot().values().cloned().collect()
    }

    pub fn ids(&self) -> Vec<Uuid> {
        self.snapshot().keys().copied().collect()
    }

    /// The company a request means: the one it names (if it exists and the caller may see it),
    /// or, when it names none, the only one the caller sees. `visible` = the caller's companies
    /// (`None` = all).
    pub fn resolve(&self, requested: Option<Uuid>, visible: Option<&[Uuid]>) -> Result<Arc<CompanyRuntime>, Resolve> {
        let companies = self.snapshot();
        let sees = |id: &Uuid| visible.is_none_or(|v| v.contains(id));
        match requested {
            Some(id) => companies.get(&id).filter(|_| sees(&id)).cloned().ok_or(Resolve::Unknown),
            None => {
                let mut seen = companies.iter().filter(|(id, _)| sees(id));
                match (seen.next(), seen.next()) {
                    (Some((_, only)), None) => Ok(only.clone()),
                    _ => Err(Resolve::Required),
                }
            }
        }
    }

    /// The company first-version data and tasks belong to (see [`RegistrySettings::v1_company`]).
    pub fn v1_company(&self) -> Option<Uuid> {
        self.0.settings.v1_company
    }

    /// The company of a queue task or webhook that names none (a first-version one): the v1
    /// company while it exists (none once it was deleted), else the only company.
    pub fn default_company(&self) -> Option<Uuid> {
        match self.v1_company() {
            Some(id) => self.get(id).map(|c| c.id()),
            None => self.resolve(None, None).ok().map(|c| c.id()),
        }
    }

    /// Tells when the companies changed (the value is a generation counter).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.0.generation.subscribe()
    }

    /// The requests every company's client made since the budget flusher last took them.
    pub fn tally(&self) -> &RequestTally {
        &self.0.tally
    }

    pub fn secrets_key(&self) -> Option<&SecretsKey> {
        self.0.secrets.as_ref()
    }

    pub(super) fn db(&self) -> &Db {
        &self.0.db
    }

    pub(super) fn bus(&self) -> Option<&Bus> {
        self.0.bus.as_ref()
    }

    /// Reload on every announcement on `<p>.control.companies` and every 30 s, until cancelled.
    pub async fn run_reloader(self, cancel: CancellationToken) {
        let Some(bus) = self.0.bus.clone() else { return };
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.tick().await;
        let mut announcements = self.0.announcements.lock().unwrap_or_else(|p| p.into_inner()).take();
        loop {
            if announcements.is_none() {
                announcements = subscribe(&bus).await;
            }
            let announced = async {
                match announcements.as_mut() {
                    Some(sub) => sub.next().await.is_some(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                alive = announced => if !alive { announcements = None },
                _ = tick.tick() => {}
            }
            if let Err(e) = self.reload().await {
                tracing::error!(error = format!("{e:#}"), "reloading companies failed; keeping the ones loaded");
            }
        }
    }
}

/// Whether two loads hold the same companies with the same settings, keys and limiters.
fn same(a: &Companies, b: &Companies) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ia, ra), (ib, rb))| {
            ia == ib
                && ra.company == rb.company
                && ra.key_source == rb.key_source
                && ra.rate_limit == rb.rate_limit
                && ra.client.is_some() == rb.client.is_some()
                && ra.webhook_keys.len() == rb.webhook_keys.len()
        })
}
