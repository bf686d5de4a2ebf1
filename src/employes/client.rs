//! HTTP client for Employes: paced below the rate limit, retrying what is worth retrying (see
//! `retry`), with errors that name the endpoint but never the key or a response body.

use std::{sync::Arc, time::Duration};

use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use uuid::Uuid;

use super::{
    error::{EmployesError, Endpoint},
    pacer::Pacer,
    retry::{Failure, Retries, Transient, retry_after},
    tally::RequestTally,
};
use crate::domain::Employee;

/// The pacing of one API key (see [`Pacer`]).
pub type Limiter = Pacer;

/// A limiter for `per_second` requests a second (at least one).
pub fn limiter(per_second: u32) -> Arc<Limiter> {
    Arc::new(Pacer::new(per_second))
}

/// Idle connections to Employes kept for reuse. Every company's requests go to the same host,
/// and with many companies' sessions at once their requests leave together (each key's limiter
/// lets one through at a time): as many as the sessions one worker runs by default, so a burst
/// reuses connections instead of opening and closing one per request (a TLS handshake each).
const IDLE_CONNECTIONS: usize = 128;

/// The HTTP client every company's requests share (one connection pool).
pub fn http_client(request_timeout: Duration) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout.min(Duration::from_secs(5)))
        .pool_max_idle_per_host(IDLE_CONNECTIONS)
        .user_agent(concat!("employes-sync/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

/// A client of one company: its id in every path, its key, and its key's limiter.
#[derive(Clone)]
pub struct EmployesClient {
    http: reqwest::Client,
    base: String,
    company: Uuid,
    /// The `company` label of the request metrics.
    company_label: Arc<str>,
    key: SecretString,
    limiter: Arc<Limiter>,
    max_attempts: u32,
    tally: RequestTally,
}

impl std::fmt::Debug for EmployesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmployesClient")
            .field("base", &self.base)
            .field("company", &self.company)
            .finish_non_exhaustive()
    }
}

/// What a company's client is made of.
pub struct ClientParts {
    pub http: reqwest::Client,
    /// e.g. `https://connect.employes.nl/v4`.
    pub base_url: String,
    pub company: Uuid,
    pub key: SecretString,
    pub limiter: Arc<Limiter>,
    /// Tries per request for 5xx, timeouts and connection errors (at least 1).
    pub max_attempts: u32,
    /// Where every request that reached Employes is counted.
    pub tally: RequestTally,
}

impl EmployesClient {
    pub fn new(parts: ClientParts) -> EmployesClient {
        let ClientParts { http, base_url, company, key, limiter, max_attempts, tally } = parts;
        EmployesClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            company,
            company_label: company.to_string().into(),
            key,
            limiter,
            max_attempts: max_attempts.max(1),
            tally,
        }
    }

    /// The company this client reads.
    pub fn company(&self) -> Uuid {
        self.company
    }

    /// One employee; `Ok(None)` when Employes no longer knows it.
    pub async fn employee(&self, id: Uuid) -> Result<Option<Employee>, EmployesError> {
        let body = self.get_json(Endpoint::Employee, &format!("employees/{id}")).await?;
        Ok(body.and_then(Employee::from_json))
    }

    /// The employee's employments (`data` array); 404 or an empty list = no history.
    pub async fn employments(&self, id: Uuid) -> Result<Vec<Value>, EmployesError> {
        let body = self.get_json(Endpoint::Employments, &format!("employees/{id}/employments")).await?;
        match body {
            None => Ok(Vec::new()),
            Some(Value::Object(mut map)) => match map.remove("data") {
                Some(Value::Array(items)) => Ok(items),
                Some(Value::Null) | None => Ok(Vec::new()),
                Some(_) => Err(EmployesError::Malformed { endpoint: Endpoint::Employments }),
            },
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(EmployesError::Malformed { endpoint: Endpoint::Employments }),
        }
    }

    /// GET with pacing and retries. `Ok(None)` on 404.
    pub(super) async fn get_json(&self, endpoint: Endpoint, path: &str) -> Result<Option<Value>, EmployesError> {
        let url = format!("{}/{}/{}", self.base, self.company, path);
        let mut retries = Retries::new(endpoint, self.max_attempts);
        loop {
            let failure = match self.try_once(endpoint, &url).await {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            let wait = retries.wait_after(failure).inspect_err(|e| {
                // Once per failed request (its retries are at DEBUG); the error names the
                // endpoint, never an id, the key or a body.
                tracing::warn!(endpoint = endpoint.as_str(), code = e.code(), error = %e, "Employes request failed");
            })?;
            tracing::debug!(
                endpoint = endpoint.as_str(),
                wait_ms = wait.as_millis() as u64,
                "retrying Employes request"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One paced GET, its answer sorted into a body, a 404 (`None`) or a [`Failure`].
    async fn try_once(&self, endpoint: Endpoint, url: &str) -> Result<Option<Value>, Failure> {
        self.limiter.until_ready().await;
        let sent = self
            .http
            .get(url)
            .bearer_auth(self.key.expose_secret())
            .header(header::ACCEPT, "application/json")
            .send()
            .await;
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                if e.is_timeout() {
                    // It reached Employes (or may have): it counts against the budget.
                    self.tally.add(self.company);
                }
                self.count(endpoint, if e.is_timeout() { "timeout" } else { "connect_error" });
                return Err(Failure::Transient(Transient::of(&e)));
            }
        };
        let status = resp.status();
        self.tally.add(self.company);
        self.count(endpoint, status.as_str());
        match status {
            s if s.is_success() => {
                let bytes = resp.bytes().await.map_err(|e| Failure::Transient(Transient::of(&e)))?;
                let body = serde_json::from_slice(&bytes).map_err(|_| Failure::Transient(Transient::Malformed))?;
                Ok(Some(body))
            }
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::UNAUTHORIZED => Err(Failure::Final(EmployesError::Unauthorized { endpoint })),
            StatusCode::FORBIDDEN => Err(Failure::Final(EmployesError::Forbidden { endpoint })),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::RateLimited { retry_after: retry_after(&resp) }),
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(Failure::Transient(Transient::Status(s.as_u16())))
            }
            s => Err(Failure::Final(EmployesError::Status { endpoint, status: s.as_u16() })),
        }
    }
}

impl EmployesClient {
    fn count(&self, endpoint: Endpoint, status: &str) {
        metrics::counter!("employes_sync_employes_requests_total", "endpoint" => endpoint.label(),
                          "status" => status.to_string(), "company" => self.company_label.clone())
        .increment(1);
    }
}
