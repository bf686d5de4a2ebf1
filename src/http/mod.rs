//! The HTTP surface: one router per resource, merged with the shared layers (request ids,
//! tracing, the API's rate limit, timeouts, CORS for the browser API), served on a listener that
//! drops clients who stop reading ([`listener`]).
//!
//! Every route but the dashboard's pages is registered with `utoipa_axum::routes!`, which adds the
//! handler and its `#[utoipa::path]` together: a route cannot exist without its documentation, nor
//! a documented path without its route (`http::tests` holds every handler module to it). Handler
//! modules do not import one another; what two of them show alike is in [`views`], the error
//! answers they share in [`responses`], the schemas the derive cannot write in [`schemas`].

mod activity;
mod audit;
mod auth;
mod changes;
mod companies;
mod company_input;
mod dashboard;
mod docs;
mod employees;
mod endpoint_input;
mod endpoints;
mod erasure;
mod export;
mod extract;
mod health;
mod issues;
pub mod limits;
pub mod listener;
mod me;
mod milestones;
pub mod openapi;
mod paging;
mod responses;
mod schemas;
mod sessions;
mod sse;
mod stats;
mod sync;
#[cfg(test)]
mod tests;
mod views;
mod webhook_event;
mod webhooks;

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    Extension,
    extract::{Request, State},
    http::{HeaderName, HeaderValue, Method, header},
    middleware::{Next, from_fn_with_state},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;
use tower::{Service, ServiceBuilder};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};
use utoipa_axum::router::OpenApiRouter;

pub use auth::{Identity, Role, SignInFor, sign_in_token};

use crate::{
    bus::Bus,
    companies::{CompanyRuntime, Registry},
    config::Config,
    db::Db,
    error::AppResult,
};

/// Cheap handles shared by every handler (cloned per request: every field is a pointer or two).
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Behind an `Arc`: a `Bus` holds two NATS clients and two strings.
    pub bus: Arc<Bus>,
    pub config: Arc<Config>,
    pub companies: Registry,
    pub metrics: PrometheusHandle,
    /// Fires at shutdown: long-lived responses (SSE) end so the server can drain.
    pub shutdown: CancellationToken,
    /// This replica's request rates and stream slots.
    pub limits: Arc<limits::Limits>,
    /// This replica's followed sessions, each read through one consumer.
    pub hub: Arc<crate::sync::fanout::Hub>,
}

impl AppState {
    /// The company a request is about: the one it names (404 when unknown), or the only one,
    /// when it names none (400 `company_required` when there are several).
    /// A company outside the caller's scope is unknown to them (404); "the only one" means the only
    /// one they see.
    pub fn company(&self, who: &Identity, requested: Option<uuid::Uuid>) -> AppResult<Arc<CompanyRuntime>> {
        Ok(self.companies.resolve(requested, who.visible())?)
    }
}

pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The documented routes with their layers, and (`split_for_parts`) the document they make.
/// The browser API gets CORS; everything but webhook intake gets the request timeout (intake
/// bounds its own body read by the same timeout, and its publish by JetStream's ack timeout, so
/// that it registers a timer only when the body is not there yet: see bench/ANALYSIS.md).
fn documented(config: &Config) -> OpenApiRouter<AppState> {
    let timeout = from_fn_with_state(config.request_timeout, within);
    let browser_api = OpenApiRouter::new()
        .merge(sync::router())
        .merge(sessions::router())
        .merge(activity::router())
        .merge(changes::router())
        .merge(stats::router())
        .merge(issues::router())
        .merge(milestones::router())
        .merge(audit::router())
        .merge(employees::router())
        .merge(erasure::router())
        .merge(companies::router())
        .merge(endpoints::router())
        .merge(me::router())
        .layer(cors(&config.cors_origins))
        .layer(timeout.clone());
    OpenApiRouter::with_openapi(<openapi::ApiDoc as utoipa::OpenApi>::openapi())
        .merge(browser_api)
        .merge(health::router().layer(timeout.clone()))
        .merge(docs::router().layer(timeout))
        .merge(webhooks::router())
}

/// The whole HTTP surface as one service (what `axum::serve` runs).
pub fn service(
    state: AppState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + Sync + 'static {
    let (documented, doc) = documented(&state.config).split_for_parts();
    let openapi = docs::OpenApiJson(serde_json::to_vec(&openapi::to_json(&doc)).expect("JSON serializes").into());
    let asyncapi = docs::AsyncApiYaml(crate::asyncapi::yaml().into());
    let undocumented = dashboard::router()
        .merge(openapi::swagger_ui())
        .fallback(|| async { crate::error::AppError::NotFound("no such route".into()) })
        .layer(from_fn_with_state(state.config.request_timeout, within));
    let routes =
        documented.merge(undocumented).layer(Extension(openapi)).layer(Extension(asyncapi)).with_state(state.clone());
    // The shared layers wrap the router once, as one service: `Router::layer` would wrap every
    // route on its own and clone each boxed layer per request.
    ServiceBuilder::new()
        .map_response(IntoResponse::into_response)
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), NewRequestId))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            let path = req.uri().path();
            // Webhook intake, the hot path, has its span at DEBUG (its cost is measured in
            // bench/ANALYSIS.md); its rejections are logged with their request id instead.
            if webhooks::is_intake(path) {
                tracing::debug_span!("http", method = %req.method(), path, request_id = %id)
            } else {
                tracing::info_span!("http", method = %req.method(), path, request_id = %id)
            }
        }))
        .layer(from_fn_with_state(state, limits::api))
        .service(routes)
}

/// `HTTP_REQUEST_TIMEOUT` (the state) for a whole request, answered 408 with the error JSON
/// (tower-http's `TimeoutLayer` answers an empty body, which the document could not describe).
/// Layered with `from_fn_with_state(limit, within)`.
async fn within(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::error::AppError::Timeout(limit).into_response(),
    }
}

/// A random UUID for a request that brings no `x-request-id`, written without `fmt` (tower-http's
/// `MakeRequestUuid` formats through `to_string`).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let mut buf = uuid::Uuid::encode_buffer();
        let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
        Some(RequestId::new(HeaderValue::from_str(id).expect("a UUID is a valid header value")))
    }
}

/// Only configured origins get `Access-Control-Allow-Origin`.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            REQUEST_ID.clone(),
        ])
        .expose_headers([REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600))
}
