//! `GET /api/stats`.

use axum::{extract::State, response::IntoResponse};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AppState, Identity,
    responses::{Authenticated, Storage},
};
use crate::{
    db::changes::{self, Stats},
    error::AppResult,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

/// Counts of employees, changes, errors and sessions.
#[utoipa::path(get, path = "/api/stats", tag = "stats", security(("bearer" = [])),
    responses((status = 200, description = "the counts", body = Stats), Authenticated, Storage))]
async fn get_stats(State(state): State<AppState>, _who: Identity) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(changes::stats(&state.db).await?))
}
