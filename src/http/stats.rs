//! `GET /api/stats`.

use axum::{Router, extract::State, response::IntoResponse, routing::get};

use super::{AppState, Identity};
use crate::{db::changes, error::AppResult};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/stats", get(stats))
}

async fn stats(State(state): State<AppState>, _who: Identity) -> AppResult<impl IntoResponse> {
    Ok(axum::Json(changes::stats(&state.db).await?))
}
