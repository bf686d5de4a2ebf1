//! `/healthz`, `/readyz` and `/metrics` (no auth, no personal data).

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::db;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive")))]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

/// Readiness: 200 when Postgres and NATS answer, else 503 naming what is down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "a dependency is down")))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (pg, nats) = tokio::join!(db::ping(&state.db), state.bus.ping());
    let down: Vec<&str> = [(!pg).then_some("postgres"), (!nats).then_some("nats")].into_iter().flatten().collect();
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

/// Prometheus metrics (no personal data).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
