//! The dashboard page, embedded in the binary (no CDN: it works offline).

use axum::{
    Router,
    http::header,
    response::{IntoResponse, Redirect},
    routing::get,
};

use super::AppState;

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const APP_JS: &str = include_str!("../../assets/dashboard/app.js");
const APP_CSS: &str = include_str!("../../assets/dashboard/app.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/employes-sync") }))
        .route("/employes-sync", get(|| async { page("text/html; charset=utf-8", INDEX) }))
        .route("/employes-sync/app.js", get(|| async { page("text/javascript; charset=utf-8", APP_JS) }))
        .route("/employes-sync/app.css", get(|| async { page("text/css; charset=utf-8", APP_CSS) }))
}

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}
