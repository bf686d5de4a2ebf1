//! `GET /api/issues`: what is wrong with a company, in plain words.

use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Limit, Query},
    paging::{self, Cursor, MAX_LIMIT, TimeKey},
    responses::{Authenticated, OneCompany, Storage},
};
use crate::{
    db::issues::{self, IssueFilter, IssueRow},
    domain::IssueStatus,
    error::AppResult,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_issues))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct IssuesQuery {
    /// Only this company's issues.
    company_id: Option<Uuid>,
    /// Only ongoing or only resolved issues.
    status: Option<IssueStatus>,
    /// How many issues, most recently seen first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<100, { MAX_LIMIT }>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<TimeKey>)]
    cursor: Option<Cursor<TimeKey>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct IssueList {
    issues: Vec<IssueRow>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The issues of the companies the caller sees (one per company and kind while ongoing), most
/// recently seen first.
#[utoipa::path(get, path = "/api/issues", tag = "issues", params(IssuesQuery), security(("bearer" = [])),
    responses((status = 200, description = "the issues", body = IssueList), OneCompany, Authenticated, Storage))]
async fn list_issues(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<IssuesQuery>,
) -> AppResult<impl IntoResponse> {
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let filter = IssueFilter {
        company_id: q.company_id,
        companies: who.visible(),
        status: q.status,
        after: q.cursor.map(|c| c.0),
        limit: paging::fetch_limit(q.limit.get()),
    };
    let rows = issues::list(&state.db, &filter).await?;
    let (issues, next_cursor) = paging::page(rows, q.limit.get(), |i: &IssueRow| (i.last_seen, i.id));
    Ok(axum::Json(IssueList { issues, next_cursor }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::tests::query;

    #[tokio::test]
    async fn the_filters_parse_into_their_types_and_a_bad_status_names_the_allowed_ones() {
        // Arrange
        let company = "0b7d7c8e-1111-4222-8333-944455556666";
        // Act
        let parsed = query::<IssuesQuery>(&format!("/api/issues?company_id={company}&status=ongoing")).await.unwrap();
        let bad = query::<IssuesQuery>("/api/issues?status=open").await.err().unwrap();
        // Assert
        assert_eq!((parsed.company_id, parsed.status), (Some(company.parse().unwrap()), Some(IssueStatus::Ongoing)));
        assert_eq!(parsed.limit.get(), 100);
        assert!(bad.contains("unknown variant `open`, expected `ongoing` or `resolved`"), "{bad}");
    }
}
