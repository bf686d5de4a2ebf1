//! `/healthz`, `/readyz` and `/metrics` (no auth, no personal data).

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::AppState;
use crate::db;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// `{"status":"ok"}` or `{"status":"ready"}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Healthy {
    #[schema(pattern = "^(ok|ready)$")]
    status: &'static str,
}

/// What is down, in the error JSON's shape plus `down`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NotReady {
    /// `not_ready`.
    error: &'static str,
    /// e.g. `postgres unavailable`.
    message: String,
    /// The dependencies that did not answer.
    down: Vec<Dependency>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dependency {
    Postgres,
    Nats,
}

impl Dependency {
    fn as_str(self) -> &'static str {
        match self {
            Dependency::Postgres => "postgres",
            Dependency::Nats => "nats",
        }
    }
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "alive", body = Healthy)))]
async fn healthz() -> impl IntoResponse {
    axum::Json(Healthy { status: "ok" })
}

/// Readiness: 200 when Postgres and NATS answer, else 503 naming what is down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = Healthy),
              (status = 503, description = "a dependency is down", body = NotReady)))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (pg, nats) = tokio::join!(db::ping(&state.db), state.bus.ping());
    let down: Vec<Dependency> =
        [(!pg).then_some(Dependency::Postgres), (!nats).then_some(Dependency::Nats)].into_iter().flatten().collect();
    if down.is_empty() {
        return (StatusCode::OK, axum::Json(Healthy { status: "ready" })).into_response();
    }
    let names: Vec<&str> = down.iter().map(|d| d.as_str()).collect();
    let message = format!("{} unavailable", names.join(" and "));
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(NotReady { error: "not_ready", message, down })).into_response()
}

/// Prometheus metrics (no personal data).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
