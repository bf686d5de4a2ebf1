//! The Employes API routes: `/v4/companies` and `/v4/{company_id}/…`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use governor::clock::Clock as _;
use serde_json::{Value, json};
use uuid::Uuid;

use super::company::Company;
use super::data::{History, World};
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
        ["companies"] => Some(Endpoint::Companies),
        [_, "employees"] => Some(Endpoint::List),
        [_, "employees", _] => Some(Endpoint::Detail),
        [_, "employees", _, "employments"] => Some(Endpoint::Employments),
        [_, "payruns"] => Some(Endpoint::Payruns),
        _ => None,
    }
}

/// The bearer token, when the header holds a non-empty one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn v4(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().strip_prefix("/v4").unwrap_or_default();
    let segs: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let endpoint = classify(&segs);
    let company = match segs.as_slice() {
        ["companies"] => None,
        [first, ..] => Uuid::parse_str(first).ok().and_then(|id| s.companies.get(id)),
        [] => None,
    };
    let token = bearer(&headers);
    lock(&s.stats).count_request(endpoint);
    if let Some(c) = company {
        lock(&c.stats).count_request(endpoint);
    }
    let (latency_ms, reject_auth) = {
        let f = lock(&s.faults);
        let own = company.map(|c| lock(&c.faults).clone());
        let latency = own.as_ref().and_then(|o| o.latency_ms).unwrap_or(f.latency_ms);
        (latency, f.faults.reject_auth || own.is_some_and(|o| o.faults.reject_auth))
    };

    // One bucket per token, over all companies (requests without a token share one).
    let limiter = lock(&s.limiter).clone();
    match limiter.check_key(&token.unwrap_or_default().to_string()) {
        Err(not_until) => {
            lock(&s.stats).rate_limited += 1;
            if let Some(c) = company {
                lock(&c.stats).rate_limited += 1;
            }
            let wait = not_until.wait_time_from(limiter.clock().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            with_retry_after(error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests"), secs)
        }
        Ok(()) => {
            if latency_ms > 0 {
                tokio::time::sleep(Duration::from_millis(latency_ms)).await;
            }
            if reject_auth {
                count_injected(&s, company);
                return error(StatusCode::UNAUTHORIZED, "unauthorized", "API key revoked");
            }
            let Some(token) = token else {
                return error(StatusCode::UNAUTHORIZED, "unauthorized", "missing or invalid bearer token");
            };
            if endpoint == Some(Endpoint::Companies) {
                return companies(&s, &method, token).await;
            }
            handle(&s, &method, &uri, &segs, endpoint, company, token).await
        }
    }
}

fn count_injected(s: &Shared, company: Option<&Company>) {
    lock(&s.stats).errors_injected += 1;
    if let Some(c) = company {
        lock(&c.stats).errors_injected += 1;
    }
}

/// `GET /v4/companies`: the companies `token` may read (those whose key it is, and those
/// without a key of their own).
async fn companies(s: &Shared, method: &Method, token: &str) -> Response {
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is supported");
    }
    if let Some(resp) = injected(s, None, Endpoint::Companies).await {
        return resp;
    }
    let data: Vec<Value> =
        s.companies.iter().filter(|c| c.accepts(token)).map(|c| json!({ "id": c.id, "name": c.name })).collect();
    axum::Json(json!({ "data": data })).into_response()
}

/// The injected fault for one request, as its answer: the company's own faults first, then
/// the simulator-wide ones. A timeout holds the answer for a minute (or until shutdown).
async fn injected(s: &Shared, company: Option<&Company>, endpoint: Endpoint) -> Option<Response> {
    let decided = {
        let mut rng = lock(&s.fault_rng);
        let own = company.map_or(Injected::None, |c| lock(&c.faults).faults.decide(endpoint, &mut rng));
        if own == Injected::None { lock(&s.faults).faults.decide(endpoint, &mut rng) } else { own }
    };
    if decided != Injected::None {
        count_injected(s, company);
    }
    match decided {
        Injected::None => None,
        Injected::Error { status, retry_after } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let resp = error(code, "injected_error", "simulated failure");
            Some(if code == StatusCode::TOO_MANY_REQUESTS { with_retry_after(resp, retry_after) } else { resp })
        }
        Injected::Timeout => {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(60)) => {}
                () = s.shutdown.cancelled() => {}
            }
            Some(error(StatusCode::GATEWAY_TIMEOUT, "timeout", "simulated timeout"))
        }
        Injected::Malformed => Some(
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "{\"data\":[{\"id\":\"3f2a").into_response(),
        ),
    }
}

async fn handle(
    s: &Shared,
    method: &Method,
    uri: &Uri,
    segs: &[&str],
    endpoint: Option<Endpoint>,
    company: Option<&Company>,
    token: &str,
) -> Response {
    let Some(company) = company else {
        return error(StatusCode::NOT_FOUND, "not_found", "company not found");
    };
    if !company.accepts(token) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "the API key is not valid for this company");
    }
    let Some(endpoint) = endpoint else {
        // What Employes answers for a path it does not serve.
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Invalid key=value pair (missing equal-sign) in Authorization header",
        );
    };
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "only GET is supported");
    }
    if let Some(resp) = injected(s, Some(company), endpoint).await {
        return resp;
    }
    let world = &company.world;
    match endpoint {
        Endpoint::List => list(world, uri),
        Endpoint::Detail => detail(world, segs.get(2).copied().unwrap_or_default()),
        Endpoint::Employments => employments(world, segs.get(2).copied().unwrap_or_default()),
        Endpoint::Payruns | Endpoint::Companies => axum::Json(json!({ "data": [] })).into_response(),
    }
}

fn list(world: &Mutex<World>, uri: &Uri) -> Response {
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
    let world = lock(world);
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

fn detail(world: &Mutex<World>, id: &str) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return not_found_employee();
    };
    let world = lock(world);
    let Some(e) = world.find(id) else {
        return not_found_employee();
    };
    let body = e.to_json();
    let wrapped = e.employee_number % 2 != 0;
    drop(world);
    if wrapped { axum::Json(json!({ "data": body })).into_response() } else { axum::Json(body).into_response() }
}

fn employments(world: &Mutex<World>, id: &str) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return not_found_employee();
    };
    let world = lock(world);
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
