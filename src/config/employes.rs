//! The Employes API, or the built-in simulator standing in for it, and the companies the
//! environment registers: `EMPLOYES_API_URL`, `EMPLOYES_API_KEY`, `EMPLOYES_COMPANY_ID`,
//! `EMPLOYES_COMPANY_NAME`, `EMPLOYES_RATE_LIMIT`, `EMPLOYES_REQUEST_TIMEOUT`,
//! `EMPLOYES_MAX_ATTEMPTS`, `SIMULATOR_ADDR`, `SIMULATOR_COMPANIES`.

use std::{net::SocketAddr, time::Duration};

use secrecy::SecretString;
use uuid::Uuid;

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::domain::DEFAULT_COMPANY_ID;

#[derive(Debug, Clone)]
pub struct EmployesConfig {
    /// `None` = the built-in simulator.
    pub api_url: Option<String>,
    /// `EMPLOYES_API_KEY`: the key the companies of `EMPLOYES_COMPANY_ID` share. Read at every
    /// start, never stored.
    pub api_key: Option<SecretString>,
    /// `EMPLOYES_COMPANY_ID`: one id or a comma-separated list (empty when unset). With the
    /// simulator, the first is the id of its first company.
    pub company_ids: Vec<Uuid>,
    /// `EMPLOYES_COMPANY_NAME`: one name per id of `company_ids` (empty when unset).
    pub company_names: Vec<String>,
    /// Requests per second per API key when a company sets none (1 to 10,000).
    pub rate_limit: u32,
    pub request_timeout: Duration,
    /// Tries per request for 5xx, timeouts and connection errors (at least 1).
    pub max_attempts: u32,
    /// `SIMULATOR_COMPANIES`: companies the built-in simulator serves (1 to 1000).
    pub simulator_companies: usize,
}

impl EmployesConfig {
    /// The company a first-version database belongs to: the first id of `EMPLOYES_COMPANY_ID`,
    /// or the simulator's fixed company in the embedded default.
    pub fn v1_company(&self) -> Option<Uuid> {
        match (self.company_ids.first(), &self.api_url) {
            (Some(id), _) => Some(*id),
            (None, None) => Some(default_company_id()),
            (None, Some(_)) => None,
        }
    }
}

/// The simulator's fixed company.
pub fn default_company_id() -> Uuid {
    Uuid::parse_str(DEFAULT_COMPANY_ID).expect("the default company id is a UUID")
}

pub(super) struct Employes {
    pub employes: EmployesConfig,
    pub simulator_addr: SocketAddr,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Employes, ConfigError> {
    let api_url = v.text("EMPLOYES_API_URL").map(|u| u.trim_end_matches('/').to_string());
    if let Some(url) = &api_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(bad("EMPLOYES_API_URL", "must start with http:// or https://"));
    }
    let company_ids = company_ids(v.text("EMPLOYES_COMPANY_ID"))?;
    let api_key = v.text("EMPLOYES_API_KEY").map(|k| SecretString::from(k.to_string()));
    if api_url.is_some() && !company_ids.is_empty() && api_key.is_none() {
        return Err(bad("EMPLOYES_API_KEY", "required when EMPLOYES_API_URL and EMPLOYES_COMPANY_ID are set"));
    }
    let company_names = match v.text("EMPLOYES_COMPANY_NAME") {
        None => Vec::new(),
        Some(name) if company_ids.len() <= 1 => vec![name.to_string()],
        Some(names) => {
            let names: Vec<String> = names.split(',').map(|n| n.trim().to_string()).collect();
            if names.len() != company_ids.len() || names.iter().any(String::is_empty) {
                return Err(bad(
                    "EMPLOYES_COMPANY_NAME",
                    "with several EMPLOYES_COMPANY_ID values, give one name per id, separated by commas",
                ));
            }
            names
        }
    };
    let rate_limit = v.whole("EMPLOYES_RATE_LIMIT", 5u32)?;
    if rate_limit == 0 || rate_limit > 10_000 {
        return Err(bad("EMPLOYES_RATE_LIMIT", "must be between 1 and 10000 requests per second"));
    }
    let simulator_companies = v.whole("SIMULATOR_COMPANIES", 1usize)?;
    if !(1..=1000).contains(&simulator_companies) {
        return Err(bad("SIMULATOR_COMPANIES", "must be between 1 and 1000"));
    }
    Ok(Employes {
        employes: EmployesConfig {
            api_url,
            api_key,
            company_ids,
            company_names,
            rate_limit,
            request_timeout: v.duration("EMPLOYES_REQUEST_TIMEOUT", "10s")?,
            max_attempts: v.whole("EMPLOYES_MAX_ATTEMPTS", 5u32)?.max(1),
            simulator_companies,
        },
        simulator_addr: v.addr("SIMULATOR_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
    })
}

/// One UUID or a comma-separated list of distinct ones.
fn company_ids(raw: Option<&str>) -> Result<Vec<Uuid>, ConfigError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let mut ids = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = Uuid::parse_str(part)
            .map_err(|_| bad("EMPLOYES_COMPANY_ID", "not a UUID (or a comma-separated list of UUIDs)"))?;
        if ids.contains(&id) {
            return Err(bad("EMPLOYES_COMPANY_ID", format!("{id} is listed twice")));
        }
        ids.push(id);
    }
    Ok(ids)
}
