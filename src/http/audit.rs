//! `GET /api/audit`: who did what (admins only), newest first, in pages.

use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AppState, Identity,
    extract::{Limit, Query},
    paging::{self, Cursor, TimeKey},
    responses::{AdminOnly, Authenticated, Storage},
};
use crate::{
    db::audit::{self, AuditRow},
    domain::Role,
    error::{AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// How many entries per page, newest first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<100, 500>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<TimeKey>)]
    cursor: Option<Cursor<TimeKey>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditList {
    entries: Vec<AuditRow>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The audit log: every sync request by a person or a token, company and endpoint change,
/// replay, milestone resolution and erasure, newest first. It holds no personal values.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of entries", body = AuditList),
              (status = 400, description = "a malformed query parameter or cursor", body = ErrorBody),
              AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all)]
async fn list_audit(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<AuditQuery>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let limit = q.limit.get();
    let rows = audit::list(&state.db, q.cursor.map(|c| c.0), paging::fetch_limit(limit)).await?;
    let (entries, next_cursor) = paging::page(rows, limit, |e: &AuditRow| (e.at, e.id));
    Ok(axum::Json(AuditList { entries, next_cursor }))
}
