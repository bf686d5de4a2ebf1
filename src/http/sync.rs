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
    responses::{Authenticated, Storage},
    views::SessionView,
};
use crate::{
    db::sessions,
    domain::SessionStatus,
    error::{AppError, AppResult, ErrorBody},
    sync::{Requested, SyncTrigger, trigger::MAX_EMPLOYEE_IDS},
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
    /// 1–500 employees for a targeted sync (repeats count once); `null` or absent = full.
    #[schema(min_items = 1, max_items = 500)]
    employee_ids: Option<Vec<Uuid>>,
}

/// How current the copy of the company is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// No full sync has completed yet.
    Never,
    /// A session is queued or running.
    Syncing,
    /// The last full sync completed within `SYNC_OUTDATED_AFTER`.
    Current,
    /// The last full sync completed longer than `SYNC_OUTDATED_AFTER` ago.
    Outdated,
    /// The latest session failed.
    Error,
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

/// Ask for a sync: full without a body (or with `{}`, or `"employee_ids": null`), targeted with
/// `employee_ids`. A request that matches a queued (or, when full, running)
/// session joins it (`coalesced`). A repeated `Idempotency-Key` of the same caller answers the
/// session the first request got.
#[utoipa::path(post, path = "/api/sync", tag = "sync",
    request_body(content = Option<SyncBody>, content_type = "application/json",
                 description = "optional: leave it out for a full sync (a JSON `null` is refused); a body must be \
                                `application/json`"),
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = r"^[!-~]([\t -~]{0,198}[!-~])?$",
            min_length = 1, max_length = 200, description = "repeat-safe request key, per caller")),
    security(("bearer" = [])),
    responses((status = 202, description = "the session that will run it (queued, or joined)", body = Requested,
               links(("session" = (operation_id = "get_session", parameters(("id" = "$response.body#/session_id")))),
                     ("events" = (operation_id = "follow_session_events",
                                  parameters(("id" = "$response.body#/session_id")))))),
              (status = 400, description = "a malformed body or Idempotency-Key", body = ErrorBody),
              (status = 413, description = "the body is larger than 64 KiB", body = ErrorBody),
              (status = 415, description = "a body that is not application/json", body = ErrorBody),
              Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(source = who.source.as_str()))]
async fn request_sync(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    body: Body,
) -> AppResult<impl IntoResponse> {
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| AppError::PayloadTooLarge(MAX_BODY))?;
    let employee_ids = parse_body(&headers, &body)?;
    let idempotency_key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            // As the documented pattern says: `to_str` admits visible ASCII, space and tab; HTTP
            // strips the value's outer whitespace.
            let key = v.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 200);
            Some(format!(
                "{}:{}",
                who.name,
                key.ok_or_else(|| AppError::BadRequest("Idempotency-Key must be 1-200 visible characters".into()))?
            ))
        }
    };
    let trigger = SyncTrigger {
        source: who.source,
        triggered_by: who.name,
        employee_ids,
        dedup_id: idempotency_key.clone(),
        idempotency_key,
    };
    let requested =
        crate::sync::request_sync(&state.db, &state.bus, state.config.worker.coalesce_window, &trigger).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(requested)))
}

/// Empty body = full sync; otherwise a JSON object: `{}` = full, `{"employee_ids": [...]}` with
/// 1–500 UUIDs = targeted.
fn parse_body(headers: &HeaderMap, body: &Bytes) -> AppResult<Option<Vec<Uuid>>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(AppError::UnsupportedMediaType("expected Content-Type: application/json".into()));
    }
    let parsed: Option<SyncBody> =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid request body: {e}")))?;
    let parsed = parsed
        .ok_or_else(|| AppError::BadRequest("the body must be a JSON object; leave it out for a full sync".into()))?;
    match parsed.employee_ids {
        None => Ok(None),
        Some(ids) if ids.is_empty() => {
            Err(AppError::BadRequest("employee_ids must not be empty; omit it for a full sync".into()))
        }
        Some(ids) if ids.len() > MAX_EMPLOYEE_IDS => {
            Err(AppError::BadRequest(format!("at most {MAX_EMPLOYEE_IDS} employee_ids per request; use a full sync")))
        }
        Some(mut ids) => {
            ids.sort();
            ids.dedup();
            Ok(Some(ids))
        }
    }
}

/// Whether the copy is current, the latest session, and when the next scheduled sync runs.
#[utoipa::path(get, path = "/api/sync/status", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "the status", body = StatusView), Authenticated, Storage))]
async fn get_sync_status(State(state): State<AppState>, _who: Identity) -> AppResult<impl IntoResponse> {
    let last = sessions::latest(&state.db).await?;
    let last_success = sessions::last_full_success_at(&state.db).await?;
    let active = sessions::any_active(&state.db).await?;
    let outdated_after = chrono::Duration::from_std(state.config.sync_outdated_after).unwrap_or(chrono::Duration::MAX);
    let last_failed = last.as_ref().is_some_and(|s| s.status == SessionStatus::Failed);
    let status = if active {
        SyncStatus::Syncing
    } else if last_failed {
        SyncStatus::Error
    } else {
        match last_success {
            None => SyncStatus::Never,
            Some(at) if Utc::now() - at > outdated_after => SyncStatus::Outdated,
            Some(_) => SyncStatus::Current,
        }
    };
    let last_session = match last {
        Some(s) => Some(SessionView::summary(&state.db, s).await?),
        None => None,
    };
    let next_scheduled_at = state.config.sync_schedule.as_ref().and_then(|s| s.upcoming(Utc).next());
    Ok(axum::Json(StatusView { status, last_session, last_success_at: last_success, next_scheduled_at }))
}
