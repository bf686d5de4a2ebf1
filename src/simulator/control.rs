//! The control API (`/_sim/…`): faults, stats, ground truth, companies and mutations. No
//! auth, never rate limited nor delayed. Routes that concern one company take `company_id`
//! (a body field for `POST`, a query parameter for `GET`/`DELETE`); without it they act as the
//! first version did: faults and stats simulator-wide, employees and mutations of the first
//! company. Each route carries its OpenAPI description (served at `/_sim/openapi.json`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::company::Company;
use super::docs::{self, CompanyQuery};
use super::faults::{self, CompanyFaults, FaultState, new_limiter};
use super::stats::Stats;
use super::{Shared, error, lock, mutate, webhook};

pub(crate) fn router() -> Router<Arc<Shared>> {
    let (router, api) = OpenApiRouter::with_openapi(docs::SimApiDoc::openapi())
        .routes(routes!(set_faults, get_faults, reset_faults))
        .routes(routes!(stats))
        .routes(routes!(reset_stats))
        .routes(routes!(employees))
        .routes(routes!(companies))
        .routes(routes!(mutation))
        .split_for_parts();
    let api = Arc::new(api);
    router.route("/_sim/openapi.json", get(move || async move { axum::Json(api.as_ref().clone()) }))
}

/// A refused control request, answered `{"error","message"}` with its status.
struct Refused {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        error(self.status, self.code, self.message)
    }
}

fn bad(message: impl Into<String>) -> Refused {
    Refused { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
}

type Answer = Result<Response, Refused>;

/// Parses a JSON object body; an empty body is an empty object.
fn object_body(body: &[u8]) -> Result<Map<String, Value>, Refused> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("body must be a JSON object")),
        Err(_) => Err(bad("body is not valid JSON")),
    }
}

fn unknown_company(status: StatusCode, id: Uuid) -> Refused {
    let message = format!("company {id} is not simulated here (GET /_sim/companies lists them)");
    Refused { status, code: "unknown_company", message }
}

/// The company a `GET`/`DELETE` names with `?company_id=` (404 when unknown); `None` without one.
fn query_company<'a>(s: &'a Shared, q: &CompanyQuery) -> Result<Option<&'a Company>, Refused> {
    let Some(raw) = q.company_id.as_deref() else {
        return Ok(None);
    };
    let id = Uuid::parse_str(raw.trim()).map_err(|_| bad("company_id must be a UUID"))?;
    s.companies.get(id).map(Some).ok_or_else(|| unknown_company(StatusCode::NOT_FOUND, id))
}

/// The company a `POST` body names with `company_id` (400 when unknown), taken out of the body.
fn body_company<'a>(s: &'a Shared, body: &mut Map<String, Value>) -> Result<Option<&'a Company>, Refused> {
    let Some(raw) = body.remove("company_id") else {
        return Ok(None);
    };
    let id = raw.as_str().and_then(|v| Uuid::parse_str(v).ok()).ok_or_else(|| bad("company_id must be a UUID"))?;
    s.companies.get(id).map(Some).ok_or_else(|| unknown_company(StatusCode::BAD_REQUEST, id))
}

fn company_faults_json(c: &Company, f: &CompanyFaults) -> Value {
    let mut v = json!(f);
    if let Value::Object(map) = &mut v {
        map.insert("company_id".into(), json!(c.id));
    }
    v
}

/// Sets faults (any subset of the settings), simulator-wide or, with `company_id`, for one company.
#[utoipa::path(post, path = "/_sim/faults", tag = "faults", request_body = docs::FaultsPatch,
    responses((status = 200, description = "the whole fault configuration now in force (of the company, with `company_id`)", body = docs::FaultState),
              (status = 400, description = "a bad or unknown setting, or an unknown company", body = docs::ErrorBody)))]
async fn set_faults(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut body = object_body(&body)?;
    if let Some(c) = body_company(&s, &mut body)? {
        let mut f = lock(&c.faults);
        faults::patch_company(&mut f, &body).map_err(bad)?;
        tracing::debug!(company_id = %c.id, state = ?*f, "sim: company faults updated");
        return Ok(axum::Json(company_faults_json(c, &f)).into_response());
    }
    let state = {
        let mut f = lock(&s.faults);
        faults::patch(&mut f, &body).map_err(bad)?;
        f.clone()
    };
    if body.contains_key("rate_limit") {
        *lock(&s.limiter) = Arc::new(new_limiter(state.rate_limit));
    }
    tracing::debug!(?state, "sim: faults updated");
    Ok(axum::Json(state).into_response())
}

/// The fault configuration, simulator-wide or of one company.
#[utoipa::path(get, path = "/_sim/faults", tag = "faults", params(CompanyQuery),
    responses((status = 200, description = "the fault configuration", body = docs::FaultState),
              (status = 404, description = "unknown company", body = docs::ErrorBody)))]
async fn get_faults(State(s): State<Arc<Shared>>, Query(q): Query<CompanyQuery>) -> Answer {
    Ok(match query_company(&s, &q)? {
        Some(c) => axum::Json(company_faults_json(c, &lock(&c.faults))).into_response(),
        None => axum::Json(lock(&s.faults).clone()).into_response(),
    })
}

/// Clears faults (keeps rate limit and latency): one company's with `company_id`, else all of
/// them, simulator-wide and every company's.
#[utoipa::path(delete, path = "/_sim/faults", tag = "faults", params(CompanyQuery),
    responses((status = 200, description = "the fault configuration after clearing", body = docs::FaultState),
              (status = 404, description = "unknown company", body = docs::ErrorBody)))]
async fn reset_faults(State(s): State<Arc<Shared>>, Query(q): Query<CompanyQuery>) -> Answer {
    if let Some(c) = query_company(&s, &q)? {
        let mut f = lock(&c.faults);
        *f = CompanyFaults::default();
        return Ok(axum::Json(company_faults_json(c, &f)).into_response());
    }
    for c in s.companies.iter() {
        *lock(&c.faults) = CompanyFaults::default();
    }
    let mut f = lock(&s.faults);
    *f = FaultState::new(f.rate_limit, f.latency_ms);
    Ok(axum::Json(f.clone()).into_response())
}

fn company_stats_json(c: &Company) -> Value {
    let mut v = lock(&c.stats).company_json();
    if let Value::Object(map) = &mut v {
        map.insert("company_id".into(), json!(c.id));
    }
    v
}

/// Request counters of `/v4`: simulator-wide with `by_company`, or of one company.
#[utoipa::path(get, path = "/_sim/stats", tag = "stats", params(CompanyQuery),
    responses((status = 200, description = "request counters", body = docs::StatsAnswer),
              (status = 404, description = "unknown company", body = docs::ErrorBody)))]
async fn stats(State(s): State<Arc<Shared>>, Query(q): Query<CompanyQuery>) -> Answer {
    if let Some(c) = query_company(&s, &q)? {
        return Ok(axum::Json(company_stats_json(c)).into_response());
    }
    let by_company: Map<String, Value> =
        s.companies.iter().map(|c| (c.id.to_string(), lock(&c.stats).company_json())).collect();
    let mut v = lock(&s.stats).to_json();
    if let Value::Object(map) = &mut v {
        map.insert("by_company".into(), Value::Object(by_company));
    }
    Ok(axum::Json(v).into_response())
}

/// Zeroes the counters: one company's with `company_id`, else all of them.
#[utoipa::path(post, path = "/_sim/stats/reset", tag = "stats", request_body(content = Option<docs::CompanyBody>),
    responses((status = 200, description = "the counters after reset", body = docs::StatsAnswer),
              (status = 400, description = "unknown company", body = docs::ErrorBody)))]
async fn reset_stats(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut body = object_body(&body)?;
    if let Some(c) = body_company(&s, &mut body)? {
        *lock(&c.stats) = Stats::default();
        return Ok(axum::Json(company_stats_json(c)).into_response());
    }
    for c in s.companies.iter() {
        *lock(&c.stats) = Stats::default();
    }
    let mut st = lock(&s.stats);
    *st = Stats::default();
    Ok(axum::Json(st.to_json()).into_response())
}

/// Ground truth for tests: every employee of a company (default the first) with its employments.
#[utoipa::path(get, path = "/_sim/employees", tag = "ground truth", params(CompanyQuery),
    responses((status = 200, description = "the company's employees", body = docs::EmployeesAnswer),
              (status = 404, description = "unknown company", body = docs::ErrorBody)))]
async fn employees(State(s): State<Arc<Shared>>, Query(q): Query<CompanyQuery>) -> Answer {
    let c = query_company(&s, &q)?.unwrap_or_else(|| s.companies.first());
    let employees: Vec<Value> = lock(&c.world).employees.iter().map(|e| e.ground_truth_json()).collect();
    Ok(axum::Json(json!({ "company_id": c.id, "employees": employees })).into_response())
}

/// Every company served, in order (the first is the default of the other routes).
#[utoipa::path(get, path = "/_sim/companies", tag = "ground truth",
    responses((status = 200, description = "the companies", body = docs::CompaniesAnswer)))]
async fn companies(State(s): State<Arc<Shared>>) -> Response {
    let companies: Vec<Value> = s.companies.iter().map(Company::summary_json).collect();
    axum::Json(json!({ "companies": companies })).into_response()
}

/// Applies one mutation to a company (default the first) and sends its signed webhook when a
/// webhook URL is set.
#[utoipa::path(post, path = "/_sim/mutations", tag = "mutations", request_body = docs::Mutation,
    responses((status = 200, description = "applied", body = docs::MutationAnswer),
              (status = 400, description = "an unknown kind, company or employee, or a bad field (named in `field`)", body = docs::ErrorBody)))]
async fn mutation(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let mut body = object_body(&body)?;
    let c = body_company(&s, &mut body)?.unwrap_or_else(|| s.companies.first());
    let applied = mutate::apply(&mut lock(&c.world), c.id, &body);
    Ok(match applied {
        Ok(done) => {
            tracing::debug!(company_id = %c.id, employee_id = %done.employee_id, event = done.event, "sim: mutation applied");
            webhook::notify(&s, c, done.event, done.employee_id);
            axum::Json(json!({ "employee_id": done.employee_id })).into_response()
        }
        Err(mut e) => {
            if e.code == "unknown_employee" {
                let owner = body.get("employee_id").and_then(Value::as_str).and_then(|v| Uuid::parse_str(v).ok());
                if let Some(owner) = owner.and_then(|id| s.companies.holding(id)) {
                    e.message = format!("unknown employee_id in company {}; it belongs to company {}", c.id, owner.id);
                }
            }
            let body = json!({ "error": e.code, "message": e.message, "field": e.field });
            (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
        }
    })
}
