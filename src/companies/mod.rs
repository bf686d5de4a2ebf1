//! The companies a deployment serves.
//!
//! - [`Company`]: one company's settings as stored (secrets never leave this module unsealed
//!   except as the client's bearer key and the webhook keys).
//! - [`secrets`]: `SECRETS_KEY` and the sealing of API keys and webhook secrets at rest.
//! - `bootstrap`: the companies the environment registers at start (`EMPLOYES_COMPANY_ID`,
//!   the built-in simulator's).
//! - [`Registry`]: every company's runtime ([`CompanyRuntime`]: settings in effect, its
//!   Employes client, its webhook keys), reloaded when any replica changes a company, with one
//!   rate limiter per API key.
//! - [`budget`]: the requests each company made to Employes, stored per minute and shown as
//!   its share of the key's daily budget.
//! - [`rotation`]: a rotation of `SECRETS_KEY` (`SECRETS_KEY_PREVIOUS`): everything sealed under
//!   the previous key sealed anew under the current one, at start, in one transaction.
//! - `admin`: the writes (insert, update, delete, keys and secrets), validated and sealed;
//!   `announce`: the [`Registry`] methods that make them and tell every replica.

mod admin;
mod announce;
mod bootstrap;
pub mod budget;
pub mod formats;
mod registry;
pub mod rotation;
mod runtime;
pub mod secrets;

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use admin::{ChangedBy, CompanyError, CompanyPatch, NewCompany, check_schedule, delete, insert, update};
pub use announce::{CompaniesChanged, announce};
pub use bootstrap::{SimulatedCompany, bootstrap};
pub use registry::{Registry, Resolve};
pub use runtime::{CompanyRuntime, KeySource, RegistrySettings};
pub use secrets::{Field, OpenError, SecretsKey};

use crate::{db::companies::CompanyRow, domain::milestones::ChainSettings};

/// One company's settings as stored. `None` settings follow the deployment's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    /// A company of the built-in simulator (demo data).
    pub simulated: bool,
    /// Registered by `EMPLOYES_COMPANY_ID`; its key comes from `EMPLOYES_API_KEY` unless one is stored.
    pub from_env: bool,
    /// Requests per second (`None` = `EMPLOYES_RATE_LIMIT`).
    pub rate_limit: Option<u32>,
    /// Cron with seconds, or `off` (`None` = `SYNC_SCHEDULE`).
    pub schedule: Option<String>,
    /// `None` = `WATCH_INTERVAL`; zero = off.
    pub watch_interval: Option<Duration>,
    /// `None` = `HISTORY_REFRESH_AFTER`.
    pub history_refresh_after: Option<Duration>,
    pub chain: ChainSettings,
    /// An API key is stored (sealed) for the company.
    pub api_key_stored: bool,
    pub api_key_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn secs(s: Option<i32>) -> Option<Duration> {
    s.map(|s| Duration::from_secs(s.max(0) as u64))
}

impl From<&CompanyRow> for Company {
    fn from(r: &CompanyRow) -> Company {
        Company {
            id: r.id,
            name: r.name.clone(),
            simulated: r.simulated,
            from_env: r.from_env,
            rate_limit: r.rate_limit.map(|n| n.max(1) as u32),
            schedule: r.schedule.clone(),
            watch_interval: secs(r.watch_interval_secs),
            history_refresh_after: secs(r.history_refresh_after_secs),
            chain: ChainSettings {
                max_contracts: r.chain_max_contracts.max(1) as u32,
                max_months: r.chain_max_months.max(1) as u32,
                gap_months: r.chain_gap_months.max(0) as u32,
            },
            api_key_stored: r.api_key_enc.is_some(),
            api_key_expires_at: r.api_key_expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Whether the company's key and id work: one list call with its key. The employee count, or
/// the reason in plain words (never the key).
pub async fn check(company: &CompanyRuntime, within: std::time::Duration) -> Result<u64, String> {
    let Some(client) = &company.client else {
        return Err("no API key is set for this company".to_string());
    };
    let Ok(counted) = tokio::time::timeout(within, client.count_employees()).await else {
        return Err(format!(
            "Employes did not answer within {} s (the key's requests may be queued behind running syncs); try again",
            within.as_secs().max(1)
        ));
    };
    counted.map_err(|e| match e {
        crate::employes::EmployesError::Forbidden { .. }
        | crate::employes::EmployesError::Status { status: 404, .. } => {
            format!("{e}: Employes does not know this company id, or this key may not read it")
        }
        e => e.to_string(),
    })
}

/// The CloudEvents `source` of a company's events.
pub fn event_source(company: Uuid) -> String {
    format!("/employes-sync/companies/{company}")
}
