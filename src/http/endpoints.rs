//! The endpoint resource (outbound webhooks), for admins: register, list, read, change, delete,
//! rotate the secret, read the attempts log, replay a time range. Writes go through
//! [`crate::endpoints::admin`] (validated, audited in the same transaction, announced to every
//! dispatcher). A secret is shown only in the answer that made it; never logged.
//!
//! A caller limited to some companies sees only their endpoints: another company's, or one of
//! every company, is unknown to it (404).

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    endpoint_input::{EndpointPatchBody, EndpointWithSecret, NewEndpointBody, Queued, ReplayBody, Rotated},
    extract::{self, JsonBody, Limit, Path, Query},
    paging::{self, Cursor, MAX_LIMIT},
    responses::{AdminOnly, Authenticated, EndpointById, EndpointNotFound, JsonBodyRefused, Storage},
};
use crate::{
    db::endpoints::{self, AttemptRow, EndpointRow},
    domain::{AttemptStatus, Role},
    endpoints::admin::{Actor, Admin},
    error::{AppError, AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, add_endpoint))
        .routes(routes!(get_endpoint, change_endpoint, delete_endpoint))
        .routes(routes!(rotate_endpoint_secret))
        .routes(routes!(list_endpoint_attempts))
        .routes(routes!(replay_endpoint))
}

fn admin(state: &AppState) -> Admin<'_> {
    Admin {
        db: &state.db,
        bus: &state.bus,
        secrets: state.config.secrets_key.as_ref(),
        allow_private: state.config.endpoints.allow_private_networks,
    }
}

fn actor(who: &Identity, headers: &HeaderMap) -> Actor {
    Actor { name: who.name.clone(), role: who.role, request_id: extract::request_id(headers) }
}

/// May the caller see an endpoint of `company` (`None`: of every company)?
fn sees(who: &Identity, company: Option<Uuid>) -> bool {
    match (who.visible(), company) {
        (None, _) => true,
        (Some(_), Some(c)) => who.sees(c),
        (Some(_), None) => false,
    }
}

/// The endpoint, when it exists and the caller may see it (else 404).
async fn visible(state: &AppState, who: &Identity, id: Uuid) -> AppResult<EndpointRow> {
    endpoints::get(&state.db, id)
        .await?
        .filter(|e| sees(who, e.company_id))
        .ok_or_else(|| AppError::NotFound("no such endpoint".into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    endpoints: Vec<EndpointRow>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The endpoints the caller may see, by id (never their secrets).
#[utoipa::path(get, path = "/api/endpoints", tag = "endpoints", params(paging::ByIdQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of endpoints", body = EndpointList,
               links(("first_endpoint" = (operation_id = "get_endpoint",
                                          parameters(("id" = "$response.body#/endpoints/0/id")))))),
              (status = 400, description = "a malformed or unknown query parameter or cursor", body = ErrorBody),
              AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name))]
async fn list_endpoints(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<paging::ByIdQuery>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let limit = q.limit.get();
    let rows = endpoints::list(&state.db, who.visible(), q.cursor.map(|c| c.0), paging::fetch_limit(limit)).await?;
    let (endpoints, next_cursor) = paging::page(rows, limit, |e: &EndpointRow| e.id);
    Ok(axum::Json(EndpointList { endpoints, next_cursor }))
}

/// Register an endpoint: every matching change and milestone event is POSTed to it as its
/// CloudEvent, signed per Standard Webhooks with the secret in this answer (shown only here).
#[utoipa::path(post, path = "/api/endpoints", tag = "endpoints", request_body = NewEndpointBody,
    security(("bearer" = [])),
    responses((status = 201, description = "the endpoint, registered, with its secret", body = EndpointWithSecret,
               links(("endpoint" = (operation_id = "get_endpoint", parameters(("id" = "$response.body#/id")))),
                     ("attempts" = (operation_id = "list_endpoint_attempts", parameters(("id" = "$response.body#/id")))),
                     ("replay" = (operation_id = "replay_endpoint", parameters(("id" = "$response.body#/id")))))),
              (status = 400, description = "a bad field, named in the message: a url that is not http(s), or \
                                            whose host is private, loopback, link-local or does not resolve (the \
                                            SSRF guard), an unknown type, an unknown company_id; or \
                                            `secrets_key_missing`: SECRETS_KEY is not set", body = ErrorBody),
              (status = 403, description = "the caller is not an admin, or is limited to some companies and names \
                                            none of them (`forbidden`)", body = ErrorBody),
              JsonBodyRefused, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name))]
async fn add_endpoint(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewEndpointBody>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    match body.company_id() {
        Some(c) if state.companies.get(c).is_none() || !who.sees(c) => {
            return Err(AppError::BadRequest("company_id: no such company".into()));
        }
        None if who.visible().is_some() => {
            return Err(AppError::Forbidden(
                "a caller limited to some companies registers endpoints of one of them: name it in company_id".into(),
            ));
        }
        _ => {}
    }
    let (endpoint, secret) = admin(&state).create(body.into_spec()?, &actor(&who, &headers)).await?;
    tracing::info!(endpoint = %endpoint.id, "endpoint registered");
    let secret = secret.expose_secret().to_string();
    Ok((StatusCode::CREATED, axum::Json(EndpointWithSecret { endpoint, secret })))
}

/// One endpoint (never its secret).
#[utoipa::path(get, path = "/api/endpoints/{id}", tag = "endpoints",
    params(("id" = Uuid, Path, description = "The endpoint's id")), security(("bearer" = [])),
    responses((status = 200, description = "the endpoint", body = EndpointRow),
              EndpointById, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn get_endpoint(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    Ok(axum::Json(visible(&state, &who, id).await?))
}

/// Change an endpoint's url, types, description, or enable or disable it. Every replica's
/// dispatcher follows at once; a type added is delivered from now on.
#[utoipa::path(patch, path = "/api/endpoints/{id}", tag = "endpoints", request_body = EndpointPatchBody,
    params(("id" = Uuid, Path, description = "The endpoint's id")), security(("bearer" = [])),
    responses((status = 200, description = "the endpoint, changed", body = EndpointRow),
              (status = 400, description = "a malformed id, or a bad field, named in the message (a url the SSRF \
                                            guard refuses, an unknown type)", body = ErrorBody),
              EndpointNotFound, JsonBodyRefused, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn change_endpoint(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<EndpointPatchBody>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    visible(&state, &who, id).await?;
    let endpoint = admin(&state).update(id, body.into_spec()?, &actor(&who, &headers)).await?;
    tracing::info!(enabled = endpoint.enabled, "endpoint changed");
    Ok(axum::Json(endpoint))
}

/// Delete an endpoint with its attempts log; nothing more is delivered to it.
#[utoipa::path(delete, path = "/api/endpoints/{id}", tag = "endpoints",
    params(("id" = Uuid, Path, description = "The endpoint's id")), security(("bearer" = [])),
    responses((status = 204, description = "deleted"),
              EndpointById, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn delete_endpoint(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    visible(&state, &who, id).await?;
    admin(&state).delete(id, &actor(&who, &headers)).await?;
    tracing::info!("endpoint deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret (shown only here); for 24 h the previous one signs too, so each delivery
/// carries two signatures while receivers switch.
#[utoipa::path(post, path = "/api/endpoints/{id}/rotate-secret", tag = "endpoints",
    params(("id" = Uuid, Path, description = "The endpoint's id")), security(("bearer" = [])),
    responses((status = 200, description = "the new secret", body = Rotated),
              (status = 400, description = "the id is not a UUID, or `secrets_key_missing`", body = ErrorBody),
              EndpointNotFound, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn rotate_endpoint_secret(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let endpoint = visible(&state, &who, id).await?;
    let secret = admin(&state).rotate(&endpoint, &actor(&who, &headers)).await?;
    tracing::info!("endpoint secret rotated");
    Ok(axum::Json(Rotated { secret: secret.expose_secret().to_string() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AttemptsQuery {
    /// Only attempts that ended so.
    status: Option<AttemptStatus>,
    /// How many attempts, newest first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<100, { MAX_LIMIT }>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<i64>)]
    cursor: Option<Cursor<i64>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttemptList {
    attempts: Vec<AttemptRow>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The endpoint's delivery attempts, newest first: each try of each event, how it ended, and
/// when a pending one is tried again.
#[utoipa::path(get, path = "/api/endpoints/{id}/attempts", tag = "endpoints", params(
        ("id" = Uuid, Path, description = "The endpoint's id"), AttemptsQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of attempts", body = AttemptList),
              (status = 400, description = "a malformed id, query parameter or cursor", body = ErrorBody),
              EndpointNotFound, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn list_endpoint_attempts(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
    Query(q): Query<AttemptsQuery>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    visible(&state, &who, id).await?;
    let limit = q.limit.get();
    let rows = endpoints::attempts(&state.db, id, q.status, q.cursor.map(|c| c.0), paging::fetch_limit(limit)).await?;
    let (attempts, next_cursor) = paging::page(rows, limit, |a: &AttemptRow| a.id);
    Ok(axum::Json(AttemptList { attempts, next_cursor }))
}

/// Deliver again every event of the endpoint's company and types stored on the changes and
/// milestones streams from `since` up to `until` (default: now; the streams keep 30 days), each
/// with its original `webhook-id`. The events are queued durably before this answers.
#[utoipa::path(post, path = "/api/endpoints/{id}/replay", tag = "endpoints", request_body = ReplayBody,
    params(("id" = Uuid, Path, description = "The endpoint's id")), security(("bearer" = [])),
    responses((status = 202, description = "queued: how many events will be delivered again", body = Queued),
              (status = 400, description = "a malformed id or body, or `until` before `since`", body = ErrorBody),
              EndpointNotFound, JsonBodyRefused, AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(caller = %who.name, endpoint = %id))]
async fn replay_endpoint(
    State(state): State<AppState>,
    who: Identity,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReplayBody>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let endpoint = visible(&state, &who, id).await?;
    let queued = admin(&state).replay(&endpoint, body.since, body.until, &actor(&who, &headers)).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Queued { queued })))
}
