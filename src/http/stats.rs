//! `GET /api/stats`.

use axum::{extract::State, response::IntoResponse};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppState, Identity};
use crate::{
    db::changes::{self, Stats},
    error::{AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

/// Counts of employees, changes, errors and sessions.
#[utoipa::path(get, path = "/api/stats", tag = "stats", security(("bearer" = [])),
    responses((status = 200, description = "the counts", body = Stats),
              (status = 401, description = "no valid bearer token", body = ErrorBody)))]
async fn get_stats(State(state): State<AppState>, _who: Identity) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(changes::stats(&state.db).await?))
}
