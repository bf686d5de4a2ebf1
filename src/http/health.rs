//! `/healthz`, `/readyz` and `/metrics` (no auth, no personal data).

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;

use super::AppState;
use crate::db;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (pg, nats) = tokio::join!(db::ping(&state.db), state.bus.ping());
    let down: Vec<&str> = [(!pg).then_some("postgres"), (!nats).then_some("nats")]
        .into_iter()
        .flatten()
        .collect();
    if down.is_empty() {
        (StatusCode::OK, axum::Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(
                json!({"error": "not_ready", "message": format!("{} unavailable", down.join(" and ")), "down": down}),
            ),
        )
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
