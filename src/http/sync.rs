//! `POST /api/sync` and `GET /api/sync/status`.

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    auth::Role,
    extract::{CompanyQuery, Query},
    responses::{Authenticated, CompanyNotFound, Forbidden, JsonBodyRefused, OneCompany, Storage},
    views::{SessionView, SyncStatus, sync_status},
};
use crate::{
    db::sessions,
    domain::SessionStatus,
    error::{AppError, AppResult, ErrorBody},
    scheduler,
    sync::{Requested, RequestedBy, SyncTrigger, idempotency_key, trigger::MAX_EMPLOYEE_IDS},
};

/// Largest accepted `POST /api/sync` body.
const MAX_BODY: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(request_sync)).routes(routes!(get_sync_status))
}

/// Optional body of `POST /api/sync`: without it (no body, or an empty one), or without
/// `employee_ids`, the sync is full. A JSON `null` is not a body (400): leave it out.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// The company to sync; may be left out (or `null`) while there is only one.
    company_id: Option<Uuid>,
    /// 1–500 employees for a targeted sync (repeats count once); `null` or absent = full.
    #[schema(min_items = 1, max_items = 500)]
    employee_ids: Option<Vec<Uuid>>,
}

// Every field is always sent (`null` when unknown): each `Option` is `required` in the document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusView {
    status: SyncStatus,
    #[schema(required = true)]
    last_session: Option<SessionView>,
    #[schema(required = true)]
    last_success_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    next_scheduled_at: Option<DateTime<Utc>>,
}

/// Ask for a sync of a company (`company_id`, which may be left out while the caller sees only one; operator):
/// full without a body (or with `{}`, or `"employee_ids": null`), targeted with `employee_ids`. A
/// request that matches a queued (or, when full, running) session of the company joins it
/// (`coalesced`). A repeated `Idempotency-Key` of the same caller for the same company answers
/// the session the first request got.
#[utoipa::path(post, path = "/api/sync", tag = "sync",
    request_body(content = Option<SyncBody>, content_type = "application/json",
                 description = "optional: leave it out for a full sync (a JSON `null` is refused); a body must be \
                                `application/json`"),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]([\t -~]{0,198}[!-~])?$",
            min_length = 1, max_length = 200, description = "repeat-safe request key, per caller and company")),
    security(("bearer" = [])),
    responses((status = 202, description = "the session that will run it (queued, or joined)", body = Requested,
               links(("session" = (operation_id = "get_session", parameters(("id" = "$response.body#/session_id")))),
                     ("events" = (operation_id = "follow_session_events",
                                  parameters(("id" = "$response.body#/session_id")))))),
              (status = 400, description = "a malformed body or Idempotency-Key, or several companies and no company_id (`company_required`)", body = ErrorBody),
              CompanyNotFound, JsonBodyRefused, Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(source = who.source.as_str()))]
async fn request_sync(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    body: Body,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Operator)?;
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| AppError::PayloadTooLarge(MAX_BODY))?;
    let (company_id, employee_ids) = parse_body(&headers, &body)?;
    let company = state.company(&who, company_id)?.id();
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            // As the documented pattern says: `to_str` admits visible ASCII, space and tab; HTTP
            // strips the value's outer whitespace.
            let key = v.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 200);
            let key =
                key.ok_or_else(|| AppError::BadRequest("Idempotency-Key must be 1-200 visible characters".into()))?;
            Some(idempotency_key(company, &who.name, key))
        }
    };
    let by = RequestedBy { role: who.role, request_id: super::extract::request_id(&headers) };
    let trigger = SyncTrigger {
        company_id: company,
        source: who.source,
        triggered_by: who.name,
        employee_ids,
        dedup_id: idempotency_key.clone(),
        idempotency_key,
    };
    let window = state.config.worker.coalesce_window;
    let requested = crate::sync::request_sync_audited(&state.db, &state.bus, window, &trigger, &by).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(requested)))
}

/// Empty body = full sync (of the only company); otherwise a JSON object: `{}` = full,
/// `{"employee_ids": [...]}` with 1–500 UUIDs = targeted; `company_id` names the company.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> AppResult<(Option<Uuid>, Option<Vec<Uuid>>)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, None));
    }
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(AppError::UnsupportedMediaType("expected Content-Type: application/json".into()));
    }
    // Only an object: serde would also read a struct from an array (`[null, null]`), and a JSON
    // `null` is no body either.
    let not_an_object = || AppError::BadRequest("the body must be a JSON object; leave it out for a full sync".into());
    let is_object = body.trim_ascii_start().first() == Some(&b'{');
    if !is_object && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        return Err(not_an_object());
    }
    let parsed: Option<SyncBody> =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid request body: {e}")))?;
    let parsed = parsed.ok_or_else(not_an_object)?;
    let ids = match parsed.employee_ids {
        None => None,
        Some(ids) if ids.is_empty() => {
            return Err(AppError::BadRequest("employee_ids must not be empty; omit it for a full sync".into()));
        }
        Some(ids) if ids.len() > MAX_EMPLOYEE_IDS => {
            let message = format!("at most {MAX_EMPLOYEE_IDS} employee_ids per request; use a full sync");
            return Err(AppError::BadRequest(message));
        }
        Some(mut ids) => {
            ids.sort();
            ids.dedup();
            Some(ids)
        }
    };
    Ok((parsed.company_id, ids))
}

/// One company's status: whether its copy is current, its latest session, and when its next
/// scheduled sync runs.
#[utoipa::path(get, path = "/api/sync/status", tag = "sync", params(CompanyQuery), security(("bearer" = [])),
    responses((status = 200, description = "the status", body = StatusView), OneCompany, Authenticated, Storage))]
async fn get_sync_status(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<CompanyQuery>,
) -> AppResult<impl IntoResponse> {
    let company = state.company(&who, q.company_id)?;
    let last = sessions::latest(&state.db, company.id()).await?;
    let last_success = sessions::last_full_success_at(&state.db, company.id()).await?;
    let active = sessions::any_active(&state.db, company.id()).await?;
    let last_failed = last.as_ref().is_some_and(|s| s.status == SessionStatus::Failed);
    let status = sync_status(active, last_failed, last_success, state.config.runtime.sync_outdated_after);
    let last_session = match last {
        Some(s) => Some(SessionView::summary(&state.db, s).await?),
        None => None,
    };
    let next_scheduled_at = scheduler::next_fire(&company);
    Ok(axum::Json(StatusView { status, last_session, last_success_at: last_success, next_scheduled_at }))
}
