//! `POST /api/employees/{id}/erase`: the right to erasure, for admins.

use axum::{extract::State, http::HeaderMap, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{self, Path},
    responses::{AdminOnly, Authenticated, Storage},
};
use crate::{
    domain::Role,
    error::{AppError, AppResult, ErrorBody},
    privacy::erasure::{self, EraseError},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(erase_employee))
}

/// What was erased: only the tombstone is left.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Erased {
    employee_id: Uuid,
    company_id: Uuid,
    erased_at: DateTime<Utc>,
}

/// Erase everything stored about an employee who is out of service or no longer listed by
/// Employes: record and employment versions, changes, milestones, errors, their id in webhook deliveries and
/// sessions. A tombstone (id, company, time) stays, so later syncs do not store them again unless
/// Employes lists them as active; `nl.employes.employee_erased` is published on
/// `<prefix>.changes.<company_id>.employee_erased`; the audit log records who erased them.
#[utoipa::path(post, path = "/api/employees/{id}/erase", tag = "employees",
    params(("id" = Uuid, Path, description = "the employee")), security(("bearer" = [])),
    responses((status = 200, description = "erased (now, or before: a repeated request gets the same answer)", body = Erased),
              (status = 400, description = "a malformed id", body = ErrorBody),
              (status = 404, description = "no such employee", body = ErrorBody),
              (status = 409, description = "the employee is still employed (`still_employed`)", body = ErrorBody),
              AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(employee_id = %id))]
async fn erase_employee(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let by = extract::changed_by(&who, &headers);
    let visible = |company: Uuid| state.company(&who, Some(company)).is_ok();
    let t = erasure::erase(&state.db, &state.bus, id, visible, by).await.map_err(|e| match e {
        EraseError::Unknown => AppError::NotFound("no such employee".into()),
        EraseError::StillEmployed => AppError::StillEmployed(e.to_string()),
        EraseError::Database(e) => AppError::Database(e),
    })?;
    Ok(axum::Json(Erased { employee_id: t.employee_id, company_id: t.company_id, erased_at: t.erased_at }))
}
