//! The error answers operations share, as OpenAPI responses: each status once, with the error
//! JSON (`ErrorBody`, which [`super::openapi::ApiDoc`] adds to the components) and one description, so every operation that can answer it says so alike.
//!
//! An operation lists its own answers and adds the sets that apply (`responses((status = 200, …),
//! Authenticated, Storage)`); `http::tests` and schemathesis hold the document to what the server
//! does.

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses,
    openapi::{
        ContentBuilder, ObjectBuilder, Ref, RefOr, ResponseBuilder, Type, header::HeaderBuilder, response::Response,
    },
};

/// `status` answered with the error JSON.
fn error(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    ResponseBuilder::new().description(description).content("application/json", content).build().into()
}

/// 429 with the error JSON and `Retry-After` (whole seconds, at least 1).
fn limited(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
    let retry_after = HeaderBuilder::new()
        .schema(seconds)
        .description(Some("whole seconds to wait before trying again (at least 1)"))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .header("Retry-After", retry_after)
        .build()
        .into()
}

/// The API's rate limit, as every `/api/*` route (the documents too) can answer it.
const API_RATE_LIMITED: &str =
    "the caller (its token, else its address) went over API_RATE_LIMIT requests per second (`rate_limited`)";

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

/// What every `/api/*` route but the documents can answer before its handler runs: 401, and
/// 429 from the rate limit.
pub struct Authenticated;

impl IntoResponses for Authenticated {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("401".to_string(), error("no valid bearer token (missing, unknown, or an expired JWT)")),
            ("429".to_string(), limited(API_RATE_LIMITED)),
        ])
    }
}

/// The rate limit of a route that needs no token (the documents).
pub struct RateLimited;

impl IntoResponses for RateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([("429".to_string(), limited(API_RATE_LIMITED))])
    }
}

/// The event stream's 429: the rate limit, or too many streams (listed after [`Authenticated`],
/// whose 429 it replaces).
pub struct TooManyStreams;

impl IntoResponses for TooManyStreams {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let description = format!(
            "{API_RATE_LIMITED}; or the caller holds SSE_MAX_PER_TOKEN event streams open, or the replica SSE_MAX \
             (`too_many_streams`)"
        );
        BTreeMap::from([("429".to_string(), limited(&description))])
    }
}

/// Webhook intake's 429: the sending company went over its rate.
pub struct WebhookRateLimited;

impl IntoResponses for WebhookRateLimited {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let description = "the sending company went over WEBHOOK_RATE_LIMIT webhooks per second (`rate_limited`, \
                           not recorded); retry after Retry-After";
        BTreeMap::from([("429".to_string(), limited(description))])
    }
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
    /// What webhook intake refuses, besides a malformed body (each route says its own 400).
    Intake:
        "401" => "a bad or missing signature, webhook-id or webhook-timestamp, or a timestamp outside ±5 minutes",
        "408" => "the body did not arrive within HTTP_REQUEST_TIMEOUT",
        "413" => "the body is larger than 256 KiB",
        "415" => "a body that is not application/json",
        "500" => "an unexpected failure while recording it; retry",
        "503" => "not configured (no secret to verify it with), or NATS or Postgres cannot take it now; retry",
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

error_set! {
    /// A route that reads a JSON body ([`super::extract::JsonBody`]: at most 64 KiB).
    JsonBodyRefused:
        "413" => "the body is larger than 64 KiB",
        "415" => "a body that is not application/json",
}

error_set! {
    /// A route about one company named in the path or a `company_id` filter (each route says its own 400).
    CompanyNotFound: "404" => "no such company (or one the caller may not see)"
}

error_set! {
    /// A route listing what a `company_id` filter (or every company the caller sees) holds.
    CompanyFilter:
        "400" => "a malformed or unknown query parameter",
        "404" => "no such company (or one the caller may not see)",
}

error_set! {
    /// A route about the company whose id is in the path, and nothing else that can be malformed.
    CompanyById:
        "400" => "the id is not a UUID",
        "404" => "no such company (or one the caller may not see)",
}

error_set! {
    /// A route about one endpoint named in the path (each route says its own 400).
    EndpointNotFound: "404" => "no such endpoint (or one the caller may not see)"
}

error_set! {
    /// A route about the endpoint whose id is in the path, and nothing else that can be malformed.
    EndpointById:
        "400" => "the id is not a UUID",
        "404" => "no such endpoint (or one the caller may not see)",
}

error_set! {
    /// A route about the session whose id is in the path.
    SessionById:
        "400" => "the id is not a UUID",
        "404" => "no such session",
}
