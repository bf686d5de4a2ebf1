//! The Employes API routes: `/v4/{company_id}/…`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use governor::clock::Clock as _;
use serde_json::{Value, json};
use uuid::Uuid;

use super::data::History;
use super::faults::{Endpoint, Injected};
use super::{Shared, error, lock};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v4", any(v4)).route("/v4/{*rest}", any(v4))
}

fn with_retry_after(mut resp: Response, secs: u64) -> Response {
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

fn classify(segs: &[&str]) -> Option<Endpoint> {
    match segs {
        [_, "employees"] => Some(Endpoint::List),
        [_, "employees", _] => Some(Endpoint::Detail),
        [_, "employees", _, "employments"] => Some(Endpoint::Employments),
        [_, "payruns"] => Some(Endpoint::Payruns),
        _ => None,
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()
}

async fn v4(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().strip_prefix("/v4").unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let endpoint = classify(&segs);
    lock(&s.stats).count_request(endpoint);
    let (latency_ms, reject_auth) = {
        let f = lock(&s.faults);
        (f.latency_ms, f.reject_auth)
    };

    let limiter = lock(&s.limiter).clone();
    match limiter.check() {
        Err(not_until) => {
            lock(&s.stats).rate_limited += 1;
            let wait = not_until.wait_time_from(limiter.clock().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            with_retry_after(error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests"), secs)
        }
        Ok(()) => {
            if latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(latency_ms)).await;
            }
            if reject_auth {
                lock(&s.stats).errors_injected += 1;
                error(StatusCode::UNAUTHORIZED, "unauthorized", "API key revoked")
            } else {
                handle(&s, &method, &uri, &segs, endpoint, &headers).await
            }
        }
    }
}

async fn handle(
    s: &Shared,
    method: &Method,
    uri: &Uri,
    segs: &[&str],
    endpoint: Option<Endpoint>,
    headers: &HeaderMap,
) -> Response {
    if !authorized(headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid bearer token");
    }
    let company_ok = segs.first().and_then(|c| Uuid::parse_str(c).ok()).is_some_and(|c| c == s.company_id);
    if !company_ok {
        return error(StatusCode::NOT_FOUND, "not_found", "company not found");
    }
    let Some(endpoint) = endpoint else {
        return error(StatusCode::FORBIDDEN, "forbidden", "not allowed for this API key");
    };
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is supported");
    }
    let injected = {
        let mut rng = lock(&s.fault_rng);
        lock(&s.faults).decide(endpoint, &mut rng)
    };
    if injected != Injected::None {
        lock(&s.stats).errors_injected += 1;
    }
    match injected {
        Injected::None => {}
        Injected::Error { status, retry_after } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let resp = error(code, "injected_error", "simulated failure");
            return if code == StatusCode::TOO_MANY_REQUESTS { with_retry_after(resp, retry_after) } else { resp };
        }
        Injected::Timeout => {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
                () = s.shutdown.cancelled() => {}
            }
            return error(StatusCode::GATEWAY_TIMEOUT, "timeout", "simulated timeout");
        }
        Injected::Malformed => {
            return (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\":[{\"id\":\"3f2a")
                .into_response();
        }
    }
    match endpoint {
        Endpoint::List => list(s, uri),
        Endpoint::Detail => detail(s, segs.get(2).copied().unwrap_or_default()),
        Endpoint::Employments => employments(s, segs.get(2).copied().unwrap_or_default()),
        Endpoint::Payruns => axum::Json(json!({ "data": [] })).into_response(),
    }
}

fn list(s: &Shared, uri: &Uri) -> Response {
    let params = Query::<HashMap<String, String>>::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let num = |key: &str, default: usize| -> Result<usize, String> {
        match params.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse::<usize>().map_err(|_| format!("{key} must be a positive integer")),
        }
    };
    let bad = |msg: String| error(StatusCode::BAD_REQUEST, "bad_request", msg);
    let page = match num("page", 1) {
        Ok(0) => return bad("page starts at 1".into()),
        Ok(p) => p,
        Err(msg) => return bad(msg),
    };
    let per_page = match num("per_page", 25) {
        Ok(p) => p.clamp(1, 100),
        Err(msg) => return bad(msg),
    };
    let world = lock(&s.world);
    let total = world.employees.len();
    let data: Vec<Value> =
        world.employees.iter().skip((page - 1).saturating_mul(per_page)).take(per_page).map(|e| e.to_json()).collect();
    drop(world);
    tracing::debug!(page, per_page, returned = data.len(), "sim: employees page");
    axum::Json(json!({
        "data": data,
        "total": total,
        "pages": total.div_ceil(per_page),
        "page": page,
        "per_page": per_page,
    }))
    .into_response()
}

fn not_found_employee() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "employee not found")
}

fn detail(s: &Shared, id: &str) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return not_found_employee();
    };
    let world = lock(&s.world);
    let Some(e) = world.find(id) else {
        return not_found_employee();
    };
    let body = e.to_json();
    let wrapped = e.employee_number % 2 != 0;
    drop(world);
    if wrapped { axum::Json(json!({ "data": body })).into_response() } else { axum::Json(body).into_response() }
}

fn employments(s: &Shared, id: &str) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return not_found_employee();
    };
    let world = lock(&s.world);
    let Some(e) = world.find(id) else {
        return not_found_employee();
    };
    match e.history {
        History::NotFound => error(StatusCode::NOT_FOUND, "not_found", "no employments"),
        History::Empty | History::Visible => {
            let data = e.employments_json();
            drop(world);
            axum::Json(json!({ "data": data })).into_response()
        }
    }
}
