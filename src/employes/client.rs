//! HTTP client for Employes: paced below the rate limit, retrying what is worth retrying,
//! with errors that name the endpoint but never the key or a response body.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use futures::{StreamExt, stream};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::{StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::models::Employee;
use crate::config::EmployesConfig;

/// The endpoints this service calls; used in errors, logs and metrics (no ids, no data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListEmployees,
    Employee,
    Employments,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ListEmployees => "GET /employees",
            Endpoint::Employee => "GET /employees/{id}",
            Endpoint::Employments => "GET /employees/{id}/employments",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Endpoint::ListEmployees => "list",
            Endpoint::Employee => "detail",
            Endpoint::Employments => "employments",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmployesError {
    #[error("Employes rejected the API key ({endpoint})")]
    Unauthorized { endpoint: Endpoint },
    #[error("Employes denied access to {endpoint} (403)")]
    Forbidden { endpoint: Endpoint },
    #[error("Employes answered {status} on {endpoint}")]
    Status { endpoint: Endpoint, status: u16 },
    #[error("Employes answered {status} on {endpoint}, still failing after {attempts} attempts")]
    Exhausted { endpoint: Endpoint, status: u16, attempts: u32 },
    #[error("Employes did not answer {endpoint} in time after {attempts} attempts")]
    Timeout { endpoint: Endpoint, attempts: u32 },
    #[error("could not reach Employes for {endpoint} after {attempts} attempts")]
    Connect { endpoint: Endpoint, attempts: u32 },
    #[error("Employes sent malformed JSON on {endpoint}")]
    Malformed { endpoint: Endpoint },
}

impl EmployesError {
    /// A short stable code for error rows and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EmployesError::Unauthorized { .. } => "unauthorized",
            EmployesError::Forbidden { .. } => "forbidden",
            EmployesError::Status { .. } | EmployesError::Exhausted { .. } => "upstream_status",
            EmployesError::Timeout { .. } => "timeout",
            EmployesError::Connect { .. } => "connect",
            EmployesError::Malformed { .. } => "malformed",
        }
    }

    /// Errors that mean every further call will fail the same way.
    pub fn is_fatal(&self) -> bool {
        matches!(self, EmployesError::Unauthorized { .. })
    }
}

/// The result of listing every page.
#[derive(Debug, Default)]
pub struct EmployeeList {
    pub employees: Vec<Employee>,
    /// Records that had no usable id (counted, never logged).
    pub invalid_records: usize,
    /// Pages after the first that could not be fetched; the list is then incomplete.
    pub page_errors: Vec<EmployesError>,
}

impl EmployeeList {
    pub fn is_complete(&self) -> bool {
        self.page_errors.is_empty()
    }
}

/// One page of the employee list, as [`EmployesClient::list_pages`] hands it over.
#[derive(Debug)]
pub enum ListedPage {
    Records {
        employees: Vec<Employee>,
        /// Records that had no usable id (counted, never logged).
        invalid_records: usize,
        /// The company's employee count, as the page states it.
        total: Option<u64>,
    },
    /// A page after the first that could not be fetched.
    Failed(EmployesError),
}

const PER_PAGE: u32 = 100;
/// Never follow more pages than this (a million employees), whatever a page claims.
const MAX_PAGES: u64 = 10_000;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct EmployesClient {
    http: reqwest::Client,
    base: String,
    company: Uuid,
    key: SecretString,
    limiter: Arc<DefaultDirectRateLimiter>,
    max_attempts: u32,
}

impl std::fmt::Debug for EmployesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmployesClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl EmployesClient {
    /// `base_url` is e.g. `https://connect.employes.nl/v4`.
    pub fn new(base_url: &str, cfg: &EmployesConfig) -> anyhow::Result<EmployesClient> {
        let rate = NonZeroU32::new(cfg.rate_limit.max(1)).expect("max(1) is non-zero");
        // Burst of one: requests leave evenly spaced, so the server's own bucket never empties.
        let quota = Quota::per_second(rate).allow_burst(NonZeroU32::MIN);
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(16)
            .user_agent(concat!("employes-sync/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(EmployesClient {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            company: cfg.company_id,
            key: cfg.api_key.clone(),
            limiter: Arc::new(RateLimiter::direct(quota)),
            max_attempts: cfg.max_attempts,
        })
    }

    /// Every employee, over all pages, collected in memory (see [`Self::list_pages`]).
    pub async fn list_employees(&self) -> Result<EmployeeList, EmployesError> {
        let (tx, mut rx) = mpsc::channel(4);
        let mut list = EmployeeList::default();
        let collect = async {
            while let Some(page) = rx.recv().await {
                match page {
                    ListedPage::Records { employees, invalid_records, .. } => {
                        list.employees.extend(employees);
                        list.invalid_records += invalid_records;
                    }
                    ListedPage::Failed(e) => list.page_errors.push(e),
                }
            }
        };
        let (listed, ()) = tokio::join!(self.list_pages(4, tx), collect);
        listed.map(|()| list)
    }

    /// Fetch every page of the employee list (`per_page=100`) and hand each to `tx` as it
    /// arrives, so a caller can store page by page instead of holding the whole company. The
    /// first page tells the page count; the rest are fetched `concurrency` at a time (all paced
    /// by the rate limiter). Without a page count, pages are fetched in turn until a short one.
    ///
    /// The first page failing, or a fatal error (a rejected key), is the `Err`; any other page
    /// that fails is sent as [`ListedPage::Failed`] (the list is then incomplete). Stops early,
    /// without error, when the receiver is gone.
    #[tracing::instrument(skip_all)]
    pub async fn list_pages(&self, concurrency: usize, tx: mpsc::Sender<ListedPage>) -> Result<(), EmployesError> {
        let first = self.page(1).await?;
        let pages = first.get("pages").and_then(Value::as_u64).map(|p| p.min(MAX_PAGES) as u32);
        let (page, mut last_len) = ListedPage::from_body(first);
        if tx.send(page).await.is_err() {
            return Ok(());
        }
        let Some(pages) = pages else {
            let mut n = 2;
            while last_len >= PER_PAGE as usize && u64::from(n) <= MAX_PAGES {
                let item = match self.page(n).await {
                    Ok(body) => {
                        let (page, len) = ListedPage::from_body(body);
                        last_len = len;
                        page
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        last_len = 0;
                        ListedPage::Failed(e)
                    }
                };
                if tx.send(item).await.is_err() {
                    return Ok(());
                }
                n += 1;
            }
            return Ok(());
        };
        let mut rest = stream::iter(2..=pages).map(|n| self.page(n)).buffer_unordered(concurrency.max(1));
        while let Some(result) = rest.next().await {
            let item = match result {
                Ok(body) => ListedPage::from_body(body).0,
                Err(e) if e.is_fatal() => return Err(e),
                Err(e) => ListedPage::Failed(e),
            };
            if tx.send(item).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn page(&self, page: u32) -> Result<Value, EmployesError> {
        let path = format!("employees?page={page}&per_page={PER_PAGE}");
        self.get_json(Endpoint::ListEmployees, &path)
            .await?
            .ok_or(EmployesError::Status { endpoint: Endpoint::ListEmployees, status: 404 })
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
    async fn get_json(&self, endpoint: Endpoint, path: &str) -> Result<Option<Value>, EmployesError> {
        let url = format!("{}/{}/{}", self.base, self.company, path);
        let mut attempt = 0;
        let mut rate_limited = 0;
        loop {
            attempt += 1;
            self.limiter.until_ready().await;
            let sent = self
                .http
                .get(&url)
                .bearer_auth(self.key.expose_secret())
                .header(header::ACCEPT, "application/json")
                .send()
                .await;
            let retry_in = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    count(endpoint, status.as_str());
                    match status {
                        s if s.is_success() => match resp.bytes().await {
                            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                                Ok(v) => return Ok(Some(v)),
                                Err(_) if attempt < self.max_attempts => backoff(attempt),
                                Err(_) => return Err(EmployesError::Malformed { endpoint }),
                            },
                            Err(_) if attempt < self.max_attempts => backoff(attempt),
                            Err(e) => return Err(transport_error(endpoint, &e, attempt)),
                        },
                        StatusCode::NOT_FOUND => return Ok(None),
                        StatusCode::UNAUTHORIZED => {
                            return Err(EmployesError::Unauthorized { endpoint });
                        }
                        StatusCode::FORBIDDEN => return Err(EmployesError::Forbidden { endpoint }),
                        StatusCode::TOO_MANY_REQUESTS => {
                            // 429s do not use up the error budget as fast: the server told us when to come back.
                            rate_limited += 1;
                            attempt -= 1;
                            if rate_limited > self.max_attempts * 4 {
                                return Err(EmployesError::Exhausted { endpoint, status: 429, attempts: rate_limited });
                            }
                            retry_after(&resp).unwrap_or_else(|| backoff(rate_limited))
                        }
                        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                            if attempt >= self.max_attempts {
                                return Err(EmployesError::Exhausted {
                                    endpoint,
                                    status: s.as_u16(),
                                    attempts: attempt,
                                });
                            }
                            backoff(attempt)
                        }
                        s => {
                            return Err(EmployesError::Status { endpoint, status: s.as_u16() });
                        }
                    }
                }
                Err(e) => {
                    count(endpoint, if e.is_timeout() { "timeout" } else { "connect_error" });
                    if attempt >= self.max_attempts {
                        return Err(transport_error(endpoint, &e, attempt));
                    }
                    backoff(attempt)
                }
            };
            tracing::debug!(
                endpoint = endpoint.as_str(),
                attempt,
                wait_ms = retry_in.as_millis() as u64,
                "retrying Employes request"
            );
            tokio::time::sleep(retry_in).await;
        }
    }
}

fn count(endpoint: Endpoint, status: &str) {
    metrics::counter!("employes_sync_employes_requests_total", "endpoint" => endpoint.label(), "status" => status.to_string())
        .increment(1);
}

fn transport_error(endpoint: Endpoint, e: &reqwest::Error, attempts: u32) -> EmployesError {
    if e.is_timeout() {
        EmployesError::Timeout { endpoint, attempts }
    } else {
        EmployesError::Connect { endpoint, attempts }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is treated as one second).
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    let secs = value.trim().parse::<u64>().unwrap_or(1);
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Exponential backoff with jitter: 200 ms, 400 ms, 800 ms… capped at 5 s, each 50–100 %.
fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.saturating_sub(1).min(5)).min(5_000);
    Duration::from_millis(rand::thread_rng().gen_range(base / 2..=base))
}

impl ListedPage {
    /// One page's records; also returns how many records the page had.
    fn from_body(body: Value) -> (ListedPage, usize) {
        let total = body.get("total").and_then(Value::as_u64);
        let items = match body {
            Value::Object(mut map) => match map.remove("data") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        let n = items.len();
        let mut employees = Vec::with_capacity(n);
        let mut invalid_records = 0;
        for item in items {
            match Employee::from_json(item) {
                Some(e) => employees.push(e),
                None => invalid_records += 1,
            }
        }
        (ListedPage::Records { employees, invalid_records, total }, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            assert!(d <= Duration::from_secs(5));
            assert!(d >= Duration::from_millis(100));
        }
        assert!(backoff(6) >= Duration::from_millis(2_500));
    }

    #[test]
    fn errors_never_mention_ids_or_bodies() {
        let e = EmployesError::Malformed { endpoint: Endpoint::Employments };
        assert_eq!(e.to_string(), "Employes sent malformed JSON on GET /employees/{id}/employments");
        let e = EmployesError::Unauthorized { endpoint: Endpoint::ListEmployees };
        assert!(e.to_string().starts_with("Employes rejected the API key"));
    }
}
