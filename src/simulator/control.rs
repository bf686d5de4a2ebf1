//! The control API (`/_sim/…`): faults, stats, ground truth and mutations. No auth,
//! never rate limited nor delayed.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::faults::{self, FaultState, new_limiter};
use super::stats::Stats;
use super::{Shared, error, lock, mutate, webhook};

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

async fn set_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match object_body(&body) {
        Ok(b) => b,
        Err(msg) => return bad(msg),
    };
    let state = {
        let mut f = lock(&s.faults);
        if let Err(msg) = faults::patch(&mut f, &body) {
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
