//! The company resource: list and read (viewer), add, change and delete (admin), and check a
//! company's key and id against Employes (operator). Writes go through
//! [`crate::companies::Registry`], which validates, seals keys and secrets, and announces the
//! change on `<p>.control.companies` so every replica reloads. Keys and secrets are never shown.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    auth::Role,
    company_input::{CompanyPatchBody, NewCompanyBody},
    extract::{JsonBody, Path, Query, changed_by},
    paging,
    responses::{Authenticated, CompanyById, CompanyNotFound, Forbidden, JsonBodyRefused, Storage},
    views::{SyncStatus, sync_status},
};
use crate::{
    companies::CompanyRuntime,
    db::{
        budget::{self, Budget},
        companies::{self, CompanyActivity},
    },
    error::{AppError, AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_companies, add_company))
        .routes(routes!(get_company, change_company, delete_company))
        .routes(routes!(check_company))
}

/// A company's latest failure (its most recent session failed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// A company as the API shows it: its settings in effect, whether it has a key (never the key),
/// and how current its copy is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompanyView {
    id: Uuid,
    name: String,
    /// A company of the built-in simulator (demo data).
    simulated: bool,
    /// Requests per second in effect for its key.
    rate_limit: u32,
    /// Full syncs in effect: a cron expression with seconds, or `off`.
    schedule: String,
    /// Its own watch interval (`off`), or `null` for the deployment's `WATCH_INTERVAL`.
    #[schema(required = true)]
    watch_interval: Option<String>,
    /// Every history is read again within this.
    history_refresh_after: String,
    chain_max_contracts: u32,
    chain_max_months: u32,
    chain_gap_months: u32,
    /// The company has an API key (stored, or `EMPLOYES_API_KEY`).
    api_key_set: bool,
    /// When the key expires (read from a JWT key's `exp`).
    #[schema(required = true)]
    api_key_expires_at: Option<DateTime<Utc>>,
    status: SyncStatus,
    #[schema(required = true)]
    last_success_at: Option<DateTime<Utc>>,
    /// Set while its most recent session is a failed one.
    #[schema(required = true)]
    last_error: Option<LastError>,
    /// Employees listed in its copy.
    employees: i64,
    /// Requests made to Employes for it in the last 24 hours, by every replica (stored every 5 s).
    requests_24h: i64,
    /// Its share of its key's daily budget: `requests_24h` ÷ (`rate_limit` × 86,400).
    budget_used: f64,
    created_at: DateTime<Utc>,
}

fn human(d: std::time::Duration) -> String {
    crate::companies::formats::format_duration(d)
}

impl CompanyView {
    fn of(
        c: &CompanyRuntime,
        a: Option<&CompanyActivity>,
        requests_24h: i64,
        outdated_after: std::time::Duration,
    ) -> CompanyView {
        let company = &c.company;
        let budget = Budget::new(requests_24h, c.rate_limit);
        let latest_failed = a.is_some_and(|a| a.failed_at.is_some());
        let last_success_at = a.and_then(|a| a.last_success_at);
        CompanyView {
            id: company.id,
            name: company.name.clone(),
            simulated: company.simulated,
            rate_limit: c.rate_limit,
            schedule: c.schedule.as_ref().map_or_else(|| "off".to_string(), |s| s.to_string()),
            watch_interval: company.watch_interval.map(human),
            history_refresh_after: human(c.history_refresh_after),
            chain_max_contracts: company.chain.max_contracts,
            chain_max_months: company.chain.max_months,
            chain_gap_months: company.chain.gap_months,
            api_key_set: c.api_key_set(),
            api_key_expires_at: company.api_key_expires_at,
            status: sync_status(a.is_some_and(|a| a.active), latest_failed, last_success_at, outdated_after),
            last_success_at,
            last_error: a.and_then(|a| {
                Some(LastError { at: a.failed_at?, message: a.failure_reason.clone().unwrap_or_default() })
            }),
            employees: a.map_or(0, |a| a.employees),
            requests_24h: budget.requests_24h,
            budget_used: budget.budget_used,
            created_at: company.created_at,
        }
    }
}

/// The views of `list`, with what the database knows of each (its syncs, and its requests to
/// Employes of the last 24 h).
async fn views(state: &AppState, list: &[Arc<CompanyRuntime>]) -> AppResult<Vec<CompanyView>> {
    let ids: Vec<Uuid> = list.iter().map(|c| c.id()).collect();
    let (activity, requests) =
        tokio::try_join!(companies::activity(&state.db, &ids), budget::of_companies(&state.db, &ids))?;
    let after = state.config.runtime.sync_outdated_after;
    Ok(list
        .iter()
        .map(|c| {
            let a = activity.iter().find(|a| a.id == c.id());
            CompanyView::of(c, a, requests.get(&c.id()).copied().unwrap_or(0), after)
        })
        .collect())
}

/// One company as [`views`] shows it.
async fn view(state: &AppState, company: Arc<CompanyRuntime>) -> AppResult<CompanyView> {
    Ok(views(state, &[company]).await?.remove(0))
}

/// Who makes a change, for its audit entry.
/// The company, when the caller may see it (else 404, as for an unknown one).
fn visible(state: &AppState, who: &Identity, id: Uuid) -> AppResult<Arc<CompanyRuntime>> {
    state.companies.get(id).filter(|_| who.sees(id)).ok_or_else(|| AppError::NotFound("no such company".into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CompanyList {
    companies: Vec<CompanyView>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The companies the caller may see, by id.
#[utoipa::path(get, path = "/api/companies", tag = "companies", params(paging::ByIdQuery), security(("bearer" = [])),
    responses((status = 200, description = "the companies", body = CompanyList,
               links(("first_company" = (operation_id = "get_company",
                                         parameters(("id" = "$response.body#/companies/0/id")))))),
              (status = 400, description = "a malformed or unknown query parameter", body = ErrorBody),
              Authenticated, Storage))]
async fn list_companies(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<paging::ByIdQuery>,
) -> AppResult<impl IntoResponse> {
    let after = q.cursor.map(|c| c.0);
    let seen: Vec<Arc<CompanyRuntime>> = state
        .companies
        .all()
        .into_iter()
        .filter(|c| who.sees(c.id()) && after.is_none_or(|a| c.id() > a))
        .take(paging::fetch_limit(q.limit.get()) as usize)
        .collect();
    let (page, next_cursor) = paging::page(seen, q.limit.get(), |c| c.id());
    Ok(axum::Json(CompanyList { companies: views(&state, &page).await?, next_cursor }))
}

/// One company.
#[utoipa::path(get, path = "/api/companies/{id}", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")), security(("bearer" = [])),
    responses((status = 200, description = "the company", body = CompanyView),
              CompanyById, Authenticated, Storage))]
async fn get_company(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let company = visible(&state, &who, id)?;
    Ok(axum::Json(view(&state, company).await?))
}

/// Add a company (admin): its key (and webhook secrets) are stored encrypted under `SECRETS_KEY`.
#[utoipa::path(post, path = "/api/companies", tag = "companies", request_body = NewCompanyBody,
    security(("bearer" = [])),
    responses((status = 201, description = "the company, added", body = CompanyView,
               links(("company" = (operation_id = "get_company", parameters(("id" = "$response.body#/id")))))),
              (status = 400, description = "a bad field (the message names it), or `secrets_key_missing`: SECRETS_KEY is not set", body = ErrorBody),
              (status = 409, description = "a company with this id exists (`company_exists`)", body = ErrorBody),
              JsonBodyRefused, Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name))]
async fn add_company(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewCompanyBody>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let new = body.into_new()?;
    if !who.sees(new.id) {
        // A caller limited to some companies cannot add one it would not see.
        return Err(AppError::Forbidden("this caller may not add a company outside its companies".into()));
    }
    let company = state.companies.insert(&new, &changed_by(&who, &headers)).await?;
    tracing::info!(company = %company.id(), "company added");
    Ok((StatusCode::CREATED, axum::Json(view(&state, company).await?)))
}

/// Change a company's settings, key or webhook secrets (admin).
#[utoipa::path(patch, path = "/api/companies/{id}", tag = "companies", request_body = CompanyPatchBody,
    params(("id" = Uuid, Path, description = "The company's id")), security(("bearer" = [])),
    responses((status = 200, description = "the company, changed", body = CompanyView),
              (status = 400, description = "a bad field (the message names it), a malformed id, or `secrets_key_missing`", body = ErrorBody),
              CompanyNotFound, JsonBodyRefused, Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, company = %id))]
async fn change_company(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CompanyPatchBody>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    visible(&state, &who, id)?;
    let patch = body.into_patch()?;
    let company = state.companies.update(id, &patch, &changed_by(&who, &headers)).await?;
    tracing::info!("company changed");
    Ok(axum::Json(view(&state, company).await?))
}

/// Delete a company and everything stored about it (admin). A company of `EMPLOYES_COMPANY_ID` or
/// of the built-in simulator is registered again at the next start while the setting names it.
#[utoipa::path(delete, path = "/api/companies/{id}", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")), security(("bearer" = [])),
    responses((status = 204, description = "deleted, with all its sessions, employees, changes and issues"),
              CompanyById, Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, company = %id))]
async fn delete_company(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    visible(&state, &who, id)?;
    state.companies.delete(id, &changed_by(&who, &headers)).await?;
    tracing::info!("company deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// What a check found: `{"ok":true,"employees":n}` or `{"ok":false,"reason":".."}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// The key and the id work.
    ok: bool,
    /// When `ok`: the company's employee count, as Employes states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    employees: Option<u64>,
    /// When not `ok`: why, in plain words (never the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<String>,
}

/// Whether the company's key and id work (operator): one list call to Employes with its key.
#[utoipa::path(post, path = "/api/companies/{id}/check", tag = "companies",
    params(("id" = Uuid, Path, description = "The company's id")), security(("bearer" = [])),
    responses((status = 200, description = "`ok` with the employee count, or not with the reason", body = CheckResult),
              CompanyById, Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, company = %id))]
async fn check_company(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Operator)?;
    let company = visible(&state, &who, id)?;
    // An answer before the request's own deadline, even when the key's limiter is busy.
    let within = state.config.request_timeout / 2;
    let result = match crate::companies::check(&company, within).await {
        Ok(employees) => CheckResult { ok: true, employees: Some(employees), reason: None },
        Err(reason) => CheckResult { ok: false, employees: None, reason: Some(reason) },
    };
    Ok(axum::Json(result))
}
