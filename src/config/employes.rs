//! The Employes API, or the built-in simulator standing in for it: `EMPLOYES_API_URL`,
//! `EMPLOYES_API_KEY`, `EMPLOYES_COMPANY_ID`, `EMPLOYES_RATE_LIMIT`, `EMPLOYES_REQUEST_TIMEOUT`,
//! `EMPLOYES_MAX_ATTEMPTS`, `SIMULATOR_ADDR`.

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
    pub api_key: SecretString,
    pub company_id: Uuid,
    /// Requests per second sent to Employes (1 to 10,000).
    pub rate_limit: u32,
    pub request_timeout: Duration,
    /// Tries per request for 5xx, timeouts and connection errors (at least 1).
    pub max_attempts: u32,
}

pub(super) struct Employes {
    pub employes: EmployesConfig,
    pub simulator_addr: SocketAddr,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Employes, ConfigError> {
    let api_url = v.text("EMPLOYES_API_URL").map(|u| u.trim_end_matches('/').to_string());
    if let Some(url) = &api_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(bad("EMPLOYES_API_URL", "must start with http:// or https://"));
        }
    }
    let api_key = match (v.text("EMPLOYES_API_KEY"), &api_url) {
        (Some(k), _) => SecretString::from(k.to_string()),
        (None, None) => SecretString::from("simulator".to_string()),
        (None, Some(_)) => return Err(bad("EMPLOYES_API_KEY", "required when EMPLOYES_API_URL is set")),
    };
    let company_id = match v.text("EMPLOYES_COMPANY_ID") {
        Some(id) => Uuid::parse_str(id).map_err(|_| bad("EMPLOYES_COMPANY_ID", "not a UUID"))?,
        None if api_url.is_some() => {
            return Err(bad("EMPLOYES_COMPANY_ID", "required when EMPLOYES_API_URL is set"));
        }
        None => Uuid::parse_str(DEFAULT_COMPANY_ID).expect("the default company id is a UUID"),
    };
    let rate_limit = v.whole("EMPLOYES_RATE_LIMIT", 5u32)?;
    if rate_limit == 0 || rate_limit > 10_000 {
        return Err(bad("EMPLOYES_RATE_LIMIT", "must be between 1 and 10000 requests per second"));
    }
    Ok(Employes {
        employes: EmployesConfig {
            api_url,
            api_key,
            company_id,
            rate_limit,
            request_timeout: v.duration("EMPLOYES_REQUEST_TIMEOUT", "10s")?,
            max_attempts: v.whole("EMPLOYES_MAX_ATTEMPTS", 5u32)?.max(1),
        },
        simulator_addr: v.addr("SIMULATOR_ADDR", SocketAddr::from(([127, 0, 0, 1], 8090)))?,
    })
}
