//! `GET /api/changes`.

use axum::{Router, extract::State, response::IntoResponse, routing::get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Query, limit},
};
use crate::{
    db::changes::{self, ChangeFilter},
    domain::ChangeType,
    error::{AppError, AppResult},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/changes", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesQuery {
    since: Option<String>,
    #[serde(rename = "type")]
    change_type: Option<String>,
    employee_id: Option<String>,
    limit: Option<i64>,
}

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
    if let Some(t) = &q.change_type {
        if ChangeType::parse(t).is_none() {
            let all: Vec<_> = ChangeType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(AppError::BadRequest(format!(
                "type must be one of {}",
                all.join(", ")
            )));
        }
    }
    let employee_id = q
        .employee_id
        .map(|s| Uuid::parse_str(&s))
        .transpose()
        .map_err(|_| AppError::BadRequest("employee_id must be a UUID".into()))?;
    let filter = ChangeFilter {
        since,
        change_type: q.change_type,
        employee_id,
        limit: limit(q.limit, 50, 500)?,
    };
    let rows = changes::list(&state.db, &filter).await?;
    Ok(axum::Json(json!({ "changes": rows })))
}
