//! One company as the worker, scheduler and API use it ([`CompanyRuntime`]), and what the
//! registry needs to build it ([`RegistrySettings`]).

use std::time::Duration;

use secrecy::SecretString;
use uuid::Uuid;

use super::Company;
use crate::{config::Config, employes::EmployesClient, webhook_signature::WebhookKey};

/// What the registry needs besides the database: the Employes base URL, defaults for unset
/// company settings, and the environment's key.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// e.g. `https://connect.employes.nl/v4`, or the built-in simulator's.
    pub base_url: String,
    pub request_timeout: Duration,
    pub max_attempts: u32,
    /// `EMPLOYES_RATE_LIMIT`.
    pub default_rate_limit: u32,
    /// `SYNC_SCHEDULE` (`None` = off).
    pub default_schedule: Option<cron::Schedule>,
    /// `WATCH_INTERVAL` (`None` = off).
    pub default_watch_interval: Option<Duration>,
    /// `HISTORY_REFRESH_AFTER`.
    pub default_history_refresh_after: Duration,
    /// `EMPLOYES_API_KEY`, for companies from the environment without a stored key.
    pub env_api_key: Option<SecretString>,
    /// The company a first-version database (and a first-version queue task) belongs to.
    pub v1_company: Option<Uuid>,
}

impl RegistrySettings {
    pub fn from_config(config: &Config, base_url: String) -> RegistrySettings {
        RegistrySettings {
            base_url,
            request_timeout: config.employes.request_timeout,
            max_attempts: config.employes.max_attempts,
            default_rate_limit: config.employes.rate_limit,
            default_schedule: config.runtime.sync_schedule.clone(),
            default_watch_interval: config.runtime.watch_interval,
            default_history_refresh_after: config.worker.history_refresh_after,
            env_api_key: config.employes.api_key.clone(),
            v1_company: config.employes.v1_company(),
        }
    }
}

/// Where a company's API key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Stored (sealed) through the API or CLI.
    Stored,
    /// `EMPLOYES_API_KEY` (companies from the environment).
    Environment,
    /// The built-in simulator accepts any key; each simulated company gets its own.
    Simulator,
    /// None: the company's syncs fail until one is set.
    Missing,
}

/// One company as the worker, scheduler and API use it.
pub struct CompanyRuntime {
    pub company: Company,
    /// `None` when the company has no key.
    pub client: Option<EmployesClient>,
    pub key_source: KeySource,
    /// Requests per second in effect for its key (the lowest among companies sharing the key).
    pub rate_limit: u32,
    /// The schedule in effect (`None` = off).
    pub schedule: Option<cron::Schedule>,
    /// How often the company is watched (`None` = off).
    pub watch_interval: Option<Duration>,
    pub history_refresh_after: Duration,
    /// Keys its webhooks are verified with (empty = the deployment's `WEBHOOK_SECRET`).
    pub webhook_keys: Vec<WebhookKey>,
}

impl CompanyRuntime {
    pub fn id(&self) -> Uuid {
        self.company.id
    }

    /// The company has a key to call Employes with.
    pub fn api_key_set(&self) -> bool {
        self.client.is_some()
    }
}

impl std::fmt::Debug for CompanyRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompanyRuntime")
            .field("id", &self.company.id)
            .field("key_source", &self.key_source)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}
