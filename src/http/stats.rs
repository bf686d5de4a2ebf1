//! `GET /api/stats`.

use axum::{extract::State, response::IntoResponse};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AppState, Identity,
    extract::{CompanyQuery, Query},
    responses::{Authenticated, OneCompany, Storage},
};
use crate::{
    db::changes::{self, Stats},
    error::AppResult,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

/// One company's counts of employees, changes, errors and sessions.
#[utoipa::path(get, path = "/api/stats", tag = "stats", params(CompanyQuery), security(("bearer" = [])),
    responses((status = 200, description = "the counts", body = Stats), OneCompany, Authenticated, Storage))]
async fn get_stats(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<CompanyQuery>,
) -> AppResult<impl IntoResponse> {
    let company = state.company(&who, q.company_id)?;
    Ok(axum::Json(changes::stats(&state.db, company.id()).await?))
}
