//! `GET /api/stats`.

use axum::{Router, extract::State, response::IntoResponse, routing::get};

use super::{AppState, Identity};
use crate::{
    db::changes::{self, Stats},
    error::{AppResult, ErrorBody},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/stats", get(stats))
}

#[utoipa::path(get, path = "/api/stats", tag = "stats", security(("bearer" = [])),
    responses((status = 200, body = Stats), (status = 401, body = ErrorBody)))]
async fn stats(State(state): State<AppState>, _who: Identity) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(changes::stats(&state.db).await?))
}
