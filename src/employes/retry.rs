//! Which failed requests are tried again, and after how long. Two budgets per request: 5xx,
//! 408, timeouts, connection errors and broken or malformed bodies share the error budget
//! (`EMPLOYES_MAX_ATTEMPTS` tries, jittered exponential backoff); 429s have their own, four
//! times as large, and wait as long as `Retry-After` says (the backoff when it says nothing),
//! so a server that paces us never uses up the error budget.
//!
//! The delays come from `backon`'s exponential backoff; the choice of budget is this module's
//! own small loop, because `backon::Retryable` draws every retried error from one backoff
//! sequence and one count.

use std::time::Duration;

use backon::{BackoffBuilder as _, ExponentialBackoff, ExponentialBuilder};
use reqwest::header;

use super::error::{EmployesError, Endpoint};

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How one try of a request failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// 429, with the server's `Retry-After` when it sent one.
    RateLimited { retry_after: Option<Duration> },
    /// Worth another try.
    Transient(Transient),
    /// Another try cannot help (401, 403, any other status).
    Final(EmployesError),
}

/// A failure another try may not meet.
#[derive(Debug, Clone, Copy)]
pub(super) enum Transient {
    /// 5xx or 408.
    Status(u16),
    /// No answer in time (sending, or reading the body).
    Timeout,
    /// No connection, or it broke.
    Connect,
    /// A success status with a body that is not JSON.
    Malformed,
}

impl Transient {
    /// Of a transport error.
    pub fn of(e: &reqwest::Error) -> Transient {
        if e.is_timeout() { Transient::Timeout } else { Transient::Connect }
    }

    /// The error once the budget is used up after `attempts` tries.
    fn into_error(self, endpoint: Endpoint, attempts: u32) -> EmployesError {
        match self {
            Transient::Status(status) => EmployesError::Exhausted { endpoint, status, attempts },
            Transient::Timeout => EmployesError::Timeout { endpoint, attempts },
            Transient::Connect => EmployesError::Connect { endpoint, attempts },
            Transient::Malformed => EmployesError::Malformed { endpoint },
        }
    }
}

/// 100 ms, 200 ms, 400 ms… up to 2.5 s, each stretched by a random 0–100 %: waits of
/// 100–200 ms, 200–400 ms, … 2.5–5 s.
fn backoff() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_millis(2_500))
        .with_jitter()
        .without_max_times()
        .build()
}

/// The budgets of one request (all its tries).
pub(super) struct Retries {
    endpoint: Endpoint,
    max_attempts: u32,
    tries: u32,
    errors: ExponentialBackoff,
    rate_limited: u32,
    rate_limited_backoff: ExponentialBackoff,
}

impl Retries {
    pub fn new(endpoint: Endpoint, max_attempts: u32) -> Retries {
        Retries {
            endpoint,
            max_attempts,
            tries: 0,
            errors: backoff(),
            rate_limited: 0,
            rate_limited_backoff: backoff(),
        }
    }

    /// How long to wait before trying again after `failure`, or the request's error when it
    /// is final or its budget is used up.
    pub fn wait_after(&mut self, failure: Failure) -> Result<Duration, EmployesError> {
        let endpoint = self.endpoint;
        match failure {
            Failure::Final(e) => Err(e),
            Failure::RateLimited { retry_after } => {
                self.rate_limited += 1;
                if self.rate_limited > self.max_attempts * 4 {
                    return Err(EmployesError::Exhausted { endpoint, status: 429, attempts: self.rate_limited });
                }
                let backoff = self.rate_limited_backoff.next().expect("an unbounded backoff has no end");
                Ok(retry_after.unwrap_or(backoff))
            }
            Failure::Transient(transient) => {
                self.tries += 1;
                if self.tries >= self.max_attempts {
                    return Err(transient.into_error(endpoint, self.tries));
                }
                Ok(self.errors.next().expect("an unbounded backoff has no end"))
            }
        }
    }
}

/// `Retry-After` in seconds, at most a minute (the HTTP-date form is taken as one second).
pub(super) fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let value = resp.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    let secs = value.trim().parse::<u64>().unwrap_or(1);
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let waits: Vec<Duration> = backoff().take(19).collect();
        for d in &waits {
            assert!(*d <= Duration::from_secs(5));
            assert!(*d >= Duration::from_millis(100));
        }
        assert!(waits[5] >= Duration::from_millis(2_500));
    }

    #[test]
    fn errors_use_up_their_budget_and_429s_do_not() {
        let mut r = Retries::new(Endpoint::Employee, 3);
        let limited = || Failure::RateLimited { retry_after: Some(Duration::from_secs(7)) };
        assert_eq!(r.wait_after(Failure::Transient(Transient::Status(503))).unwrap().as_millis() / 100, 1);
        for _ in 0..12 {
            assert_eq!(r.wait_after(limited()).unwrap(), Duration::from_secs(7));
        }
        assert!(r.wait_after(Failure::Transient(Transient::Timeout)).is_ok());
        assert_eq!(
            r.wait_after(Failure::Transient(Transient::Status(502))),
            Err(EmployesError::Exhausted { endpoint: Endpoint::Employee, status: 502, attempts: 3 })
        );
        assert_eq!(
            r.wait_after(limited()),
            Err(EmployesError::Exhausted { endpoint: Endpoint::Employee, status: 429, attempts: 13 })
        );
    }

    #[test]
    fn a_429_without_retry_after_backs_off_and_a_final_failure_is_not_retried() {
        let mut r = Retries::new(Endpoint::ListEmployees, 5);
        let wait = r.wait_after(Failure::RateLimited { retry_after: None }).unwrap();
        assert!((Duration::from_millis(100)..Duration::from_millis(200)).contains(&wait), "{wait:?}");
        let denied = EmployesError::Forbidden { endpoint: Endpoint::ListEmployees };
        assert_eq!(r.wait_after(Failure::Final(denied.clone())), Err(denied));
        let mut once = Retries::new(Endpoint::Employments, 1);
        assert_eq!(
            once.wait_after(Failure::Transient(Transient::Malformed)),
            Err(EmployesError::Malformed { endpoint: Endpoint::Employments })
        );
    }
}
