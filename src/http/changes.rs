//! `GET /api/changes`.

use axum::{Router, extract::State, response::IntoResponse, routing::get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::VariantArray as _;
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Query, limit},
};
use crate::{
    db::changes::{self, ChangeFilter, ChangeRow},
    domain::ChangeType,
    error::{AppError, AppResult, ErrorBody},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/changes", get(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ChangesQuery {
    /// RFC 3339: changes detected at or after this time.
    since: Option<String>,
    /// One of the change types.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    change_type: Option<String>,
    /// Employee UUID.
    employee_id: Option<String>,
    /// 1–500, default 50.
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    changes: Vec<ChangeRow>,
}

#[utoipa::path(get, path = "/api/changes", tag = "changes", params(ChangesQuery), security(("bearer" = [])),
    responses((status = 200, body = ChangeList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _who: Identity,
    Query(q): Query<ChangesQuery>,
) -> AppResult<impl IntoResponse> {
    let since = q
        .since
        .map(|s| DateTime::parse_from_rfc3339(&s).map(|d| d.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| AppError::BadRequest("since must be an RFC 3339 timestamp".into()))?;
    let change_type = q.change_type.map(|t| t.parse::<ChangeType>()).transpose().map_err(|_| {
        let all: Vec<_> = ChangeType::VARIANTS.iter().map(|t| t.as_str()).collect();
        AppError::BadRequest(format!("type must be one of {}", all.join(", ")))
    })?;
    let employee_id = q
        .employee_id
        .map(|s| Uuid::parse_str(&s))
        .transpose()
        .map_err(|_| AppError::BadRequest("employee_id must be a UUID".into()))?;
    let filter = ChangeFilter { since, change_type, employee_id, limit: limit(q.limit, 50, 500)? };
    let rows = changes::list(&state.db, &filter).await?;
    Ok(axum::Json(ChangeList { changes: rows }))
}
