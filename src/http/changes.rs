//! `GET /api/changes`.

use axum::{extract::State, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{self, Limit, Query},
    responses::{Authenticated, Storage},
};
use crate::{
    db::changes::{self, ChangeFilter, ChangeView},
    domain::ChangeType,
    error::{AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_changes))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ChangesQuery {
    /// Only changes detected at or after this time (RFC 3339).
    #[serde(default, deserialize_with = "extract::since")]
    since: Option<DateTime<Utc>>,
    /// Only changes of this type.
    #[serde(default, rename = "type", deserialize_with = "extract::change_type")]
    #[param(rename = "type")]
    change_type: Option<ChangeType>,
    /// Only changes of this employee.
    #[serde(default, deserialize_with = "extract::employee_id")]
    employee_id: Option<Uuid>,
    /// How many changes, newest first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<50, 500>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangeList {
    changes: Vec<ChangeView>,
}

/// Recorded changes, newest first.
#[utoipa::path(get, path = "/api/changes", tag = "changes", params(ChangesQuery), security(("bearer" = [])),
    responses((status = 200, description = "the changes", body = ChangeList,
               links(("first_change_session" = (operation_id = "get_session",
                                                parameters(("id" = "$response.body#/changes/0/session_id")))),
                     ("first_change_employee" = (operation_id = "list_changes",
                                                 parameters(("employee_id" = "$response.body#/changes/0/employee_id")))))),
              (status = 400, description = "a malformed or unknown query parameter", body = ErrorBody),
              Authenticated, Storage))]
async fn list_changes(
    State(state): State<AppState>,
    _who: Identity,
    Query(q): Query<ChangesQuery>,
) -> AppResult<impl IntoResponse> {
    let filter = ChangeFilter {
        company_id: None,
        since: q.since,
        change_type: q.change_type,
        employee_id: q.employee_id,
        limit: q.limit.get(),
    };
    let rows = changes::list(&state.db, &filter).await?;
    Ok(axum::Json(ChangeList { changes: rows.into_iter().map(ChangeView::from).collect() }))
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
            ("type=raise", format!("type must be one of {types}")),
            ("employee_id=12", "employee_id must be a UUID".to_string()),
            ("limit=0", "limit must be between 1 and 500".to_string()),
            ("limit=501", "limit must be between 1 and 500".to_string()),
            ("limit=abc", "Failed to deserialize query string: limit: invalid digit found in string".to_string()),
            (
                "bogus=1",
                "Failed to deserialize query string: bogus: unknown field `bogus`, expected one of `since`, `type`, \
                 `employee_id`, `limit`"
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
    async fn well_formed_filters_are_parsed_into_their_types_and_limit_defaults_to_50() {
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
        assert_eq!(all.limit.get(), 50);
        assert_eq!((none.since, none.change_type, none.employee_id, none.limit.get()), (None, None, None, 500));
    }
}
