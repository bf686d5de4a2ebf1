//! Outbound endpoints: `ENDPOINT_RETRY_SCHEDULE`, `ENDPOINT_DISABLE_AFTER`, `ENDPOINT_TIMEOUT`,
//! `ENDPOINT_CONCURRENCY`, `ENDPOINT_ALLOW_PRIVATE_NETWORKS`.

use std::time::Duration;

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::endpoints::RetrySchedule;

#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The delay before each retry of a failed delivery.
    pub retry_schedule: RetrySchedule,
    /// An endpoint whose every delivery failed for this long is disabled.
    pub disable_after: Duration,
    /// Bound on one delivery attempt (the contract's 15 s).
    pub timeout: Duration,
    /// Deliveries in flight to one endpoint on one replica.
    pub concurrency: usize,
    /// Allow endpoints on loopback, private, link-local and metadata addresses (tests, on-premises).
    pub allow_private_networks: bool,
}

impl Default for EndpointConfig {
    fn default() -> EndpointConfig {
        EndpointConfig {
            retry_schedule: RetrySchedule::default(),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            timeout: Duration::from_secs(15),
            concurrency: 16,
            allow_private_networks: false,
        }
    }
}

pub(super) fn parse(v: &Values<'_>) -> Result<EndpointConfig, ConfigError> {
    let retry_schedule = match v.text("ENDPOINT_RETRY_SCHEDULE") {
        Some(text) => RetrySchedule::parse(text).map_err(|e| bad("ENDPOINT_RETRY_SCHEDULE", e))?,
        None => RetrySchedule::default(),
    };
    let concurrency = v.whole("ENDPOINT_CONCURRENCY", 16usize)?;
    if !(1..=1000).contains(&concurrency) {
        return Err(bad("ENDPOINT_CONCURRENCY", "must be between 1 and 1000"));
    }
    let timeout = v.duration("ENDPOINT_TIMEOUT", "15s")?;
    if timeout.is_zero() {
        return Err(bad("ENDPOINT_TIMEOUT", "must be positive"));
    }
    let allow_private_networks = match v.text("ENDPOINT_ALLOW_PRIVATE_NETWORKS") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad("ENDPOINT_ALLOW_PRIVATE_NETWORKS", "expected true or false")),
    };
    Ok(EndpointConfig {
        retry_schedule,
        disable_after: v.duration("ENDPOINT_DISABLE_AFTER", "5d")?,
        timeout,
        concurrency,
        allow_private_networks,
    })
}
