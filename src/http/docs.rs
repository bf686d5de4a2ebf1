//! `GET /api/openapi.json` and `GET /api/asyncapi.yaml`: the two documents, without a token (a
//! client generator or a subscriber's tooling reads them before it has one).

use axum::{Extension, http::header, response::IntoResponse};
use bytes::Bytes;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AppState, responses::RateLimited};

/// The OpenAPI document as served, made once from the routes (`openapi::to_json`) and handed to
/// the handler as an extension: the document is complete only once every route is registered.
#[derive(Clone)]
pub struct OpenApiJson(pub Bytes);

/// The AsyncAPI document as served ([`crate::asyncapi::yaml`], the text of `docs/asyncapi.yaml`).
#[derive(Clone)]
pub struct AsyncApiYaml(pub Bytes);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_openapi)).routes(routes!(get_asyncapi))
}

/// This document: the HTTP API (OpenAPI 3.1).
#[utoipa::path(get, path = "/api/openapi.json", tag = "documents",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json",
               body = serde_json::Value), RateLimited))]
async fn get_openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json)
}

/// The NATS side: every channel, its messages' headers and payloads (AsyncAPI 3).
#[utoipa::path(get, path = "/api/asyncapi.yaml", tag = "documents",
    responses((status = 200, description = "the AsyncAPI 3 document (`docs/asyncapi.yaml`)", content_type = "application/yaml",
               body = serde_json::Value), RateLimited))]
async fn get_asyncapi(Extension(AsyncApiYaml(yaml)): Extension<AsyncApiYaml>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], yaml)
}
