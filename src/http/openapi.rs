//! The OpenAPI 3 document: what every documented route adds when it is registered (see
//! [`super::documented`]), on top of the title and the bearer scheme here; served at
//! `/api/openapi.json`, with Swagger UI for it at `/api/docs/` (embedded in the binary from
//! crates.io: no CDN, it works offline).

use axum::{Router, http::header, routing::get};
use bytes::Bytes;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;

pub const PATH: &str = "/api/openapi.json";
/// Where the browsable documentation is (`/api/docs` redirects there).
pub const DOCS_PATH: &str = "/api/docs";

/// The document before any route is added to it.
#[derive(OpenApi)]
#[openapi(
    info(title = "employes-sync", description = "Keeps employees in step with Employes and publishes what changed."),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("HS256 JWT or API token")).build(),
            ),
        );
    }
}

/// Serves `doc`, serialized once.
pub fn router(doc: &utoipa::openapi::OpenApi) -> Router<AppState> {
    let json = Bytes::from(doc.to_json().expect("the OpenAPI document serializes"));
    let serve = move || {
        let json = json.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], json) }
    };
    let docs = SwaggerUi::new(DOCS_PATH).config(utoipa_swagger_ui::Config::new([PATH]));
    Router::new().route(PATH, get(serve)).merge(docs)
}
