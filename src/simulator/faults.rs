//! Injectable faults of the Employes API: which endpoints they hit, how often, and the rate
//! limit. Simulator-wide faults ([`FaultState`]) hit every company; a company's own
//! ([`CompanyFaults`]) hit only it and are decided first. The API routes ask
//! [`Faults::decide`] per request; the control API patches them.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use rand::Rng as _;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Map, Value};

/// One token bucket per bearer token.
pub(crate) type Limiter = DefaultKeyedRateLimiter<String>;

/// Buckets of `rate` requests per second with a burst of `rate`, one per distinct token.
pub(crate) fn new_limiter(rate: u32) -> Limiter {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    Limiter::keyed(Quota::per_second(rate))
}

/// The API endpoints the simulator serves (names used by faults and stats).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    List,
    Detail,
    Employments,
    Payruns,
    /// `GET /v4/companies` (not under a company).
    Companies,
}

impl Endpoint {
    pub const ALL: [Endpoint; 5] =
        [Endpoint::List, Endpoint::Detail, Endpoint::Employments, Endpoint::Payruns, Endpoint::Companies];

    pub fn name(self) -> &'static str {
        match self {
            Endpoint::List => "list",
            Endpoint::Detail => "detail",
            Endpoint::Employments => "employments",
            Endpoint::Payruns => "payruns",
            Endpoint::Companies => "companies",
        }
    }

    pub fn parse(name: &str) -> Option<Endpoint> {
        Endpoint::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// The injectable faults (one set simulator-wide, one per company).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Faults {
    pub error_rate: f64,
    pub error_status: u16,
    pub timeout_rate: f64,
    pub malformed_rate: f64,
    /// Endpoints the faults apply to; `None` = all.
    pub endpoints: Option<Vec<String>>,
    pub fail_next: u64,
    pub retry_after: u64,
    pub reject_auth: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_status: 503,
            timeout_rate: 0.0,
            malformed_rate: 0.0,
            endpoints: None,
            fail_next: 0,
            retry_after: 1,
            reject_auth: false,
        }
    }
}

/// The simulator-wide configuration (answered in full by `POST /_sim/faults`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FaultState {
    #[serde(flatten)]
    pub faults: Faults,
    /// Requests per second per bearer token.
    pub rate_limit: u32,
    pub latency_ms: u64,
}

/// One company's own faults (`POST /_sim/faults` with `company_id`).
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct CompanyFaults {
    #[serde(flatten)]
    pub faults: Faults,
    /// Replaces the simulator-wide latency for this company when set.
    pub latency_ms: Option<u64>,
}

/// What the fault configuration does to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Injected {
    None,
    Error { status: u16, retry_after: u64 },
    Timeout,
    Malformed,
}

impl FaultState {
    pub fn new(rate_limit: u32, latency_ms: u64) -> Self {
        Self { faults: Faults::default(), rate_limit, latency_ms }
    }
}

impl Faults {
    /// Decides the fault for one authenticated request to `endpoint`.
    pub fn decide(&mut self, endpoint: Endpoint, rng: &mut StdRng) -> Injected {
        let applies = self.endpoints.as_ref().is_none_or(|list| list.iter().any(|n| n == endpoint.name()));
        if !applies {
            return Injected::None;
        }
        let err = Injected::Error { status: self.error_status, retry_after: self.retry_after };
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return err;
        }
        if rng.gen_bool_safe(self.timeout_rate) {
            Injected::Timeout
        } else if rng.gen_bool_safe(self.error_rate) {
            err
        } else if rng.gen_bool_safe(self.malformed_rate) {
            Injected::Malformed
        } else {
            Injected::None
        }
    }
}

trait RollExt {
    fn gen_bool_safe(&mut self, p: f64) -> bool;
}

impl RollExt for StdRng {
    fn gen_bool_safe(&mut self, p: f64) -> bool {
        p > 0.0 && self.r#gen::<f64>() < p
    }
}

fn rate(v: &Value, key: &str) -> Result<f64, String> {
    v.as_f64().filter(|r| (0.0..=1.0).contains(r)).ok_or_else(|| format!("{key} must be a number between 0 and 1"))
}

fn uint(v: &Value, key: &str, min: u64, max: u64) -> Result<u64, String> {
    v.as_u64()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{key} must be an integer between {min} and {max}"))
}

fn latency(v: &Value) -> Result<u64, String> {
    uint(v, "latency_ms", 0, 60_000)
}

/// Applies one setting of [`Faults`]; `Ok(false)` when `key` is not one of them.
fn patch_fault(f: &mut Faults, key: &str, v: &Value) -> Result<bool, String> {
    match key {
        "error_rate" => f.error_rate = rate(v, key)?,
        "timeout_rate" => f.timeout_rate = rate(v, key)?,
        "malformed_rate" => f.malformed_rate = rate(v, key)?,
        "error_status" => f.error_status = uint(v, key, 400, 599)? as u16,
        "fail_next" => f.fail_next = uint(v, key, 0, 1_000_000)?,
        "retry_after" => f.retry_after = uint(v, key, 1, 3_600)?,
        "reject_auth" => f.reject_auth = v.as_bool().ok_or("reject_auth must be a boolean")?,
        "endpoints" => f.endpoints = endpoints(v)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn endpoints(v: &Value) -> Result<Option<Vec<String>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .and_then(Endpoint::parse)
                    .map(|e| e.name().to_string())
                    .ok_or_else(|| "endpoints items must be list|detail|employments|payruns|companies".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err("endpoints must be an array or null".into()),
    }
}

/// Applies a partial simulator-wide configuration; all-or-nothing.
pub(crate) fn patch(f: &mut FaultState, body: &Map<String, Value>) -> Result<(), String> {
    let mut next = f.clone();
    for (key, v) in body {
        match key.as_str() {
            "rate_limit" => next.rate_limit = uint(v, key, 1, 1_000_000)? as u32,
            "latency_ms" => next.latency_ms = latency(v)?,
            other => {
                if !patch_fault(&mut next.faults, other, v)? {
                    return Err(format!("unknown fault setting {other}"));
                }
            }
        }
    }
    *f = next;
    Ok(())
}

/// Applies a partial configuration of one company's faults; all-or-nothing.
pub(crate) fn patch_company(f: &mut CompanyFaults, body: &Map<String, Value>) -> Result<(), String> {
    let mut next = f.clone();
    for (key, v) in body {
        match key.as_str() {
            "rate_limit" => {
                return Err("rate_limit is per bearer token over all companies: set it without company_id".into());
            }
            "latency_ms" => next.latency_ms = if v.is_null() { None } else { Some(latency(v)?) },
            other => {
                if !patch_fault(&mut next.faults, other, v)? {
                    return Err(format!("unknown fault setting {other}"));
                }
            }
        }
    }
    *f = next;
    Ok(())
}
