//! `GET /api/changes`: a JSON page, or (`?format=csv`) every matching change as CSV.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    export::{self, CsvRecord, Format, Row},
    extract::{self, Limit, Query},
    paging::{self, Cursor, MAX_LIMIT},
    responses::{Authenticated, CompanyFilter, Storage},
};
use crate::{
    db::changes::{self, ChangeFilter, ChangeKey, ChangeRow, ChangeView},
    domain::ChangeType,
    error::AppResult,
};

/// Rows of a JSON page when `limit` is not given.
const DEFAULT_LIMIT: i64 = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_changes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ChangesQuery {
    /// Only this company's changes.
    company_id: Option<Uuid>,
    /// Only changes detected at or after this time (RFC 3339).
    #[serde(default, deserialize_with = "extract::since")]
    since: Option<DateTime<Utc>>,
    /// Only changes detected before this time (RFC 3339); with `since`, a date range.
    #[serde(default, deserialize_with = "extract::until")]
    until: Option<DateTime<Utc>>,
    /// Only changes of this type.
    #[serde(default, rename = "type", deserialize_with = "extract::change_type")]
    #[param(rename = "type")]
    change_type: Option<ChangeType>,
    /// Only changes of this employee.
    #[serde(default, deserialize_with = "extract::employee_id")]
    employee_id: Option<Uuid>,
    /// How many changes, newest first: a JSON page holds 50 when it is not given; a CSV export
    /// holds every matching change unless it is given.
    #[param(schema_with = limit_schema)]
    limit: Option<Limit<DEFAULT_LIMIT, { MAX_LIMIT }>>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<ChangeKey>)]
    cursor: Option<Cursor<ChangeKey>>,
    /// `json` (default): a page; `csv`: `text/csv`, a header row and one row per change.
    #[serde(default)]
    #[param(inline)]
    format: Format,
}

/// The schema of `?limit=` (optional here: a CSV export has no default).
fn limit_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    <Limit<DEFAULT_LIMIT, { MAX_LIMIT }> as utoipa::PartialSchema>::schema()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    changes: Vec<ChangeView>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// Recorded changes of the companies the caller sees, newest first: a JSON page, or with
/// `format=csv` every matching change as CSV (streamed; same filters).
#[utoipa::path(get, path = "/api/changes", tag = "changes", params(ChangesQuery), security(("bearer" = [])),
    responses((status = 200, description = "the changes: a JSON page, or CSV with `format=csv`",
               content((ChangeList = "application/json"), (String = "text/csv")),
               links(("first_change_session" = (operation_id = "get_session",
                                                parameters(("id" = "$response.body#/changes/0/session_id")))),
                     ("first_change_employee" = (operation_id = "list_changes",
                                                 parameters(("employee_id" = "$response.body#/changes/0/employee_id")))))),
              CompanyFilter, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(format = ?q.format))]
async fn list_changes(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<ChangesQuery>,
) -> AppResult<Response> {
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let mut filter = ChangeFilter {
        company_id: q.company_id,
        companies: who.companies.clone(),
        since: q.since,
        until: q.until,
        change_type: q.change_type,
        employee_id: q.employee_id,
        after: q.cursor.map(|c| c.0),
        limit: None,
    };
    match q.format {
        Format::Json => {
            let limit = q.limit.map_or(DEFAULT_LIMIT, Limit::get);
            filter.limit = Some(paging::fetch_limit(limit));
            let rows = changes::list(&state.db, &filter).await?;
            let (rows, next_cursor) = paging::page(rows, limit, ChangeRow::key);
            let changes = rows.into_iter().map(ChangeView::from).collect();
            Ok(axum::Json(ChangeList { changes, next_cursor }).into_response())
        }
        Format::Csv => {
            filter.limit = q.limit.map(Limit::get);
            let db = state.db.clone();
            let mut rows = Box::pin(async_stream::stream! {
                let mut inner = changes::stream(&db, &filter);
                while let Some(row) = inner.next().await {
                    yield row.map(ChangeView::from);
                }
            });
            let first = rows.next().await.transpose()?;
            Ok(export::csv("changes.csv", first, rows))
        }
    }
}

impl CsvRecord for ChangeView {
    const HEADER: &'static [&'static str] = &[
        "id",
        "company_id",
        "employee_id",
        "employee_name",
        "change_type",
        "field",
        "old_value",
        "new_value",
        "old_amount",
        "new_amount",
        "effective_date",
        "detected_at",
        "session_id",
        "business_impact",
        "change_amount",
        "change_percent",
        "baseline",
    ];

    fn write(&self, row: &mut Row<'_>) {
        let c = &self.change;
        row.opt(Some(c.id));
        row.opt(Some(c.company_id));
        row.opt(Some(c.employee_id));
        row.opt(c.employee_name.as_deref());
        row.text(c.change_type.as_str());
        row.opt(c.field.as_deref());
        row.opt(c.old_value.as_deref());
        row.opt(c.new_value.as_deref());
        row.number(self.old_amount);
        row.number(self.new_amount);
        row.opt(c.effective_date);
        row.time(Some(c.detected_at));
        row.opt(Some(c.session_id));
        row.opt(c.business_impact.map(|b| b.as_str()));
        row.number(c.change_amount);
        row.number(c.change_percent);
        row.text(if c.baseline { "true" } else { "false" });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::tests::query;

    #[tokio::test]
    async fn each_malformed_filter_gets_the_message_that_names_it() {
        // Arrange
        let types = "salary_change, hours_change, contract_change, employee_added, employee_removed, \
                     status_change, personal_data_change";
        let cases = [
            ("since=yesterday", "since must be an RFC 3339 timestamp".to_string()),
            ("since=", "since must be an RFC 3339 timestamp".to_string()),
            ("until=tomorrow", "until must be an RFC 3339 timestamp".to_string()),
            ("type=raise", format!("type must be one of {types}")),
            ("employee_id=12", "employee_id must be a UUID".to_string()),
            ("limit=0", "limit must be between 1 and 500".to_string()),
            ("limit=501", "limit must be between 1 and 500".to_string()),
            ("cursor=abc", "cursor must be a next_cursor this list gave out".to_string()),
            (
                "format=xml",
                "Failed to deserialize query string: format: unknown variant `xml`, expected `json` or `csv`"
                    .to_string(),
            ),
            ("limit=abc", "Failed to deserialize query string: limit: invalid digit found in string".to_string()),
            (
                "bogus=1",
                "Failed to deserialize query string: bogus: unknown field `bogus`, expected one of `company_id`, \
                 `since`, `until`, `type`, `employee_id`, `limit`, `cursor`, `format`"
                    .to_string(),
            ),
        ];
        for (params, expected) in cases {
            // Act
            let parsed = query::<ChangesQuery>(&format!("/api/changes?{params}")).await;
            // Assert
            assert_eq!(parsed.err(), Some(expected), "{params}");
        }
    }

    #[tokio::test]
    async fn well_formed_filters_are_parsed_into_their_types() {
        // Arrange
        let employee = "0b7d7c8e-1111-4222-8333-944455556666";
        let uri = format!("/api/changes?since=2026-01-01T01:00:00%2B01:00&type=salary_change&employee_id={employee}");
        // Act
        let all = query::<ChangesQuery>(&uri).await.unwrap();
        let none = query::<ChangesQuery>("/api/changes?limit=500").await.unwrap();
        // Assert
        assert_eq!(all.since, Some("2026-01-01T00:00:00Z".parse().unwrap()));
        assert_eq!(all.change_type, Some(ChangeType::SalaryChange));
        assert_eq!(all.employee_id, Some(employee.parse().unwrap()));
        assert_eq!((all.limit, all.format), (None, Format::Json));
        assert_eq!((none.since, none.change_type, none.employee_id), (None, None, None));
        assert_eq!(none.limit.map(Limit::get), Some(500));
    }
}
