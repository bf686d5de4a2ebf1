//! The error answers operations share, as OpenAPI responses: each status once, with the error
//! JSON (`ErrorBody`, which [`super::openapi::ApiDoc`] adds to the components) and one description, so every operation that can answer it says so alike.
//!
//! An operation lists its own answers and adds the sets that apply (`responses((status = 200, …),
//! Authenticated, Storage)`); `http::tests` and schemathesis hold the document to what the server
//! does.

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses,
    openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response},
};

/// `status` answered with the error JSON.
fn error(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

/// A set of error statuses, each answered with the error JSON.
macro_rules! error_set {
    ($(#[$meta:meta])* $name:ident: $($status:literal => $description:expr),+ $(,)?) => {
        $(#[$meta])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$(($status.to_string(), error($description))),+])
            }
        }
    };
}

error_set! {
    /// What every `/api/*` route but the documents can answer before its handler runs.
    Authenticated: "401" => "no valid bearer token (missing, unknown, or an expired JWT)"
}

error_set! {
    /// A route that needs more than the `viewer` role.
    Forbidden: "403" => "the caller's role may not do this (`forbidden`)"
}

error_set! {
    /// A route under `HTTP_REQUEST_TIMEOUT` that reads Postgres: it may not finish in time, or find
    /// the database down (503, retry) or failing (500; the body never says why).
    Storage:
        "408" => "the request did not complete within HTTP_REQUEST_TIMEOUT",
        "500" => "an unexpected failure (logged with the request id; the body says only `internal error`)",
        "503" => "a dependency (Postgres, NATS) cannot take the request now; retry",
}

error_set! {
    /// A route about one company (`company_id`, which may be omitted while there is only one).
    OneCompany:
        "400" => "a malformed query parameter, or several companies and no company_id (`company_required`)",
        "404" => "no such company (or one the caller may not see)",
}

error_set! {
    /// A route for admins only.
    AdminOnly: "403" => "the caller's role may not do this (`forbidden`): it needs admin"
}
