//! The HTTP surface: one router per resource, merged with the shared layers (request ids,
//! tracing, timeouts, CORS for the browser API).

mod auth;
mod changes;
mod dashboard;
mod extract;
mod health;
pub mod openapi;
mod sessions;
mod stats;
mod sync;
mod webhooks;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use auth::Identity;

use crate::{bus::Bus, config::Config, db::Db};

/// Cheap handles shared by every handler (cloned per request: every field is a pointer or two).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Behind an `Arc`: a `Bus` holds two NATS clients and two strings.
    pub bus: Arc<Bus>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    /// Fires at shutdown: long-lived responses (SSE) end so the server can drain.
    pub shutdown: CancellationToken,
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(sync::router())
        .merge(sessions::router())
        .merge(changes::router())
        .merge(stats::router())
        .layer(cors(&state.config.cors_origins));
    Router::new()
        .merge(api)
        .merge(webhooks::router())
        .merge(health::router())
        .merge(openapi::router())
        .fallback(|| async { crate::error::AppError::NotFound("no such route".into()) })
        .merge(dashboard::router())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            let path = req.uri().path();
            // Webhook intake is the hot path: its span is at DEBUG (an INFO span costs ~10 % of
            // its throughput); its rejections are logged with their request id instead.
            if path == webhooks::PATH {
                tracing::debug_span!("http", method = %req.method(), path, request_id = %id)
            } else {
                tracing::info_span!("http", method = %req.method(), path, request_id = %id)
            }
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

/// Only configured origins get `Access-Control-Allow-Origin`.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID.clone(),
        ])
        .expose_headers([REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600))
}
