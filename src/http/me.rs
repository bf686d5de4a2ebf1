//! `GET /api/me`: who the bearer token is and what it may do, so the dashboard shows only the
//! actions the caller's role allows (the routes still check: this only avoids offering a button
//! that would answer 403).

use axum::response::IntoResponse;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{AppState, Identity, responses::Authenticated};
use crate::domain::{Role, Source};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_me))
}

/// The caller as the service sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The JWT's `email`, or the API token's name (what sessions record as `triggered_by`).
    name: String,
    /// `manual` for a JWT, `api` for an API token.
    source: Source,
    role: Role,
    /// The companies the caller may see; `null` = all of them.
    #[schema(required = true)]
    companies: Option<Vec<Uuid>>,
}

impl From<Identity> for Me {
    fn from(who: Identity) -> Me {
        Me { name: who.name, source: who.source, role: who.role, companies: who.companies }
    }
}

/// The caller: name, source, role and the companies it may see.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "the caller", body = Me), Authenticated))]
#[tracing::instrument(skip_all)]
async fn get_me(who: Identity) -> impl IntoResponse {
    axum::Json(Me::from(who))
}
