//! The OpenAPI 3 document: what every documented route adds when it is registered (see
//! [`super::documented`]), on top of the title and the bearer scheme here, turned into the JSON
//! `GET /api/openapi.json` serves ([`to_json`]); and Swagger UI for it at `/api/docs/` (embedded in
//! the binary from crates.io: no CDN, it works offline).

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_swagger_ui::SwaggerUi;

use serde_json::Value;

use super::schemas;

pub const PATH: &str = "/api/openapi.json";
/// Where the browsable documentation is (`/api/docs` redirects there).
pub const DOCS_PATH: &str = "/api/docs";

/// The document before any route is added to it.
#[derive(OpenApi)]
#[openapi(
    info(title = "employes-sync", description = "Keeps employees in step with Employes and publishes what changed."),
    components(schemas(crate::error::ErrorBody)),
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

/// The document as JSON, each schema of [`schemas::RAW`] in its placeholder's place.
pub fn to_json(doc: &utoipa::openapi::OpenApi) -> Value {
    let mut json = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    for (name, schema) in schemas::RAW {
        json["components"]["schemas"][name] = schema();
    }
    for item in json["paths"].as_object_mut().into_iter().flat_map(|paths| paths.values_mut()) {
        for operation in item.as_object_mut().into_iter().flat_map(|item| item.values_mut()) {
            for response in operation["responses"].as_object_mut().into_iter().flat_map(|r| r.values_mut()) {
                camel_case_link_fields(response);
            }
            optional_body_is_omitted_not_null(operation);
        }
    }
    json
}

/// utoipa writes an optional body (`request_body(content = Option<T>)`) as `oneOf: [null, T]`, not
/// required. Our optional bodies are left out, and a JSON `null` is refused (400), so the schema
/// is `T` (client generators then leave the body out when it is not given, instead of sending
/// `null`).
fn optional_body_is_omitted_not_null(operation: &mut Value) {
    let Some(body) = operation.get_mut("requestBody") else { return };
    if body.get("required") == Some(&Value::Bool(true)) {
        return;
    }
    for media in body["content"].as_object_mut().into_iter().flat_map(|c| c.values_mut()) {
        let Some(alternatives) = media["schema"]["oneOf"].as_array() else { continue };
        let null = serde_json::json!({"type": "null"});
        if let [a, b] = alternatives.as_slice()
            && (*a == null || *b == null)
        {
            media["schema"] = if *a == null { b.clone() } else { a.clone() };
        }
    }
}

/// utoipa 5.5 writes a Link Object's fields in snake case (`operation_id`); OpenAPI spells them
/// `operationId`, `operationRef`, `requestBody`.
fn camel_case_link_fields(response: &mut Value) {
    for link in response.get_mut("links").and_then(Value::as_object_mut).into_iter().flat_map(|l| l.values_mut()) {
        let Some(fields) = link.as_object_mut() else { continue };
        for (snake, camel) in
            [("operation_id", "operationId"), ("operation_ref", "operationRef"), ("request_body", "requestBody")]
        {
            if let Some(value) = fields.remove(snake) {
                fields.insert(camel.to_string(), value);
            }
        }
    }
}

/// Swagger UI over the document: pages for people, like the dashboard's (not operations of the API).
pub fn swagger_ui() -> SwaggerUi {
    SwaggerUi::new(DOCS_PATH).config(utoipa_swagger_ui::Config::new([PATH]))
}
