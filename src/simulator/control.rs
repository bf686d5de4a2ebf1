//! The control API (`/_sim/…`): faults, stats, ground truth and mutations. No auth,
//! never rate limited nor delayed.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::Rng as _;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::api::{Endpoint, error, new_limiter};
use super::{Shared, lock, mutate, webhook};

/// The current fault configuration (answered in full by `POST /_sim/faults`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct FaultState {
    pub error_rate: f64,
    pub error_status: u16,
    pub timeout_rate: f64,
    pub malformed_rate: f64,
    pub rate_limit: u32,
    pub latency_ms: u64,
    /// Endpoints the faults apply to; `None` = all.
    pub endpoints: Option<Vec<String>>,
    pub fail_next: u64,
    pub retry_after: u64,
    pub reject_auth: bool,
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
        Self {
            error_rate: 0.0,
            error_status: 503,
            timeout_rate: 0.0,
            malformed_rate: 0.0,
            rate_limit,
            latency_ms,
            endpoints: None,
            fail_next: 0,
            retry_after: 1,
            reject_auth: false,
        }
    }

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

/// Request counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub requests: u64,
    pub by_endpoint: [u64; 4],
    pub rate_limited: u64,
    pub errors_injected: u64,
}

impl Stats {
    pub fn count_request(&mut self, endpoint: Option<Endpoint>) {
        self.requests += 1;
        if let Some(ep) = endpoint {
            let i = Endpoint::ALL.iter().position(|e| *e == ep).unwrap_or(0);
            self.by_endpoint[i] += 1;
        }
    }

    fn to_json(&self) -> Value {
        let by: Map<String, Value> =
            Endpoint::ALL.iter().zip(self.by_endpoint).map(|(e, n)| (e.name().to_string(), json!(n))).collect();
        json!({
            "requests": self.requests,
            "by_endpoint": by,
            "rate_limited": self.rate_limited,
            "errors_injected": self.errors_injected,
        })
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/faults", post(set_faults).get(get_faults).delete(reset_faults))
        .route("/_sim/stats", get(stats))
        .route("/_sim/stats/reset", post(reset_stats))
        .route("/_sim/employees", get(employees))
        .route("/_sim/mutations", post(mutation))
}

fn bad(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// Parses a JSON object body (the error is the 400 message).
pub(crate) fn object_body(body: &[u8]) -> Result<Map<String, Value>, &'static str> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("body must be a JSON object"),
        Err(_) => Err("body is not valid JSON"),
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

/// Applies a partial fault configuration; all-or-nothing.
fn patch_faults(f: &mut FaultState, body: &Map<String, Value>) -> Result<(), String> {
    let mut next = f.clone();
    for (key, v) in body {
        match key.as_str() {
            "error_rate" => next.error_rate = rate(v, key)?,
            "timeout_rate" => next.timeout_rate = rate(v, key)?,
            "malformed_rate" => next.malformed_rate = rate(v, key)?,
            "error_status" => next.error_status = uint(v, key, 400, 599)? as u16,
            "rate_limit" => next.rate_limit = uint(v, key, 1, 1_000_000)? as u32,
            "latency_ms" => next.latency_ms = uint(v, key, 0, 60_000)?,
            "fail_next" => next.fail_next = uint(v, key, 0, 1_000_000)?,
            "retry_after" => next.retry_after = uint(v, key, 1, 3_600)?,
            "reject_auth" => {
                next.reject_auth = v.as_bool().ok_or("reject_auth must be a boolean")?;
            }
            "endpoints" => {
                next.endpoints = match v {
                    Value::Null => None,
                    Value::Array(items) => Some(
                        items
                            .iter()
                            .map(|i| {
                                i.as_str().and_then(Endpoint::parse).map(|e| e.name().to_string()).ok_or_else(|| {
                                    "endpoints items must be list|detail|employments|payruns".to_string()
                                })
                            })
                            .collect::<Result<_, _>>()?,
                    ),
                    _ => return Err("endpoints must be an array or null".into()),
                };
            }
            other => return Err(format!("unknown fault setting {other}")),
        }
    }
    *f = next;
    Ok(())
}

async fn set_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match object_body(&body) {
        Ok(b) => b,
        Err(msg) => return bad(msg),
    };
    let state = {
        let mut f = lock(&s.faults);
        if let Err(msg) = patch_faults(&mut f, &body) {
            return bad(msg);
        }
        f.clone()
    };
    if body.contains_key("rate_limit") {
        *lock(&s.limiter) = Arc::new(new_limiter(state.rate_limit));
    }
    tracing::debug!(?state, "sim: faults updated");
    axum::Json(state).into_response()
}

async fn get_faults(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&s.faults).clone()).into_response()
}

/// Extension: `DELETE /_sim/faults` clears every fault (keeps rate limit and latency).
async fn reset_faults(State(s): State<Arc<Shared>>) -> Response {
    let state = {
        let mut f = lock(&s.faults);
        *f = FaultState::new(f.rate_limit, f.latency_ms);
        f.clone()
    };
    axum::Json(state).into_response()
}

async fn stats(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&s.stats).to_json()).into_response()
}

async fn reset_stats(State(s): State<Arc<Shared>>) -> Response {
    let mut st = lock(&s.stats);
    *st = Stats::default();
    axum::Json(st.to_json()).into_response()
}

async fn employees(State(s): State<Arc<Shared>>) -> Response {
    let employees: Vec<Value> = lock(&s.world).employees.iter().map(|e| e.ground_truth_json()).collect();
    axum::Json(json!({ "company_id": s.company_id, "employees": employees })).into_response()
}

async fn mutation(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match object_body(&body) {
        Ok(b) => b,
        Err(msg) => return bad(msg),
    };
    let applied = {
        let mut world = lock(&s.world);
        mutate::apply(&mut world, s.company_id, &body)
    };
    match applied {
        Ok(done) => {
            tracing::debug!(employee_id = %done.employee_id, event = done.event, "sim: mutation applied");
            webhook::notify(&s, done.event, done.employee_id);
            axum::Json(json!({ "employee_id": done.employee_id })).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.code, e.message),
    }
}
