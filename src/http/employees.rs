//! `GET /api/employees` (search and page the stored employees by name) and
//! `GET /api/employees/{id}` (one employee with their history, changes and milestones).

use axum::{extract::State, response::IntoResponse};
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt as _;
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Limit, Path, Query},
    paging::{self, Cursor, MAX_LIMIT},
    responses::{Authenticated, CompanyNotFound, Storage},
};
use crate::{
    db::{
        changes::{self, ChangeFilter, ChangeRow, ChangeView},
        employee_views::{self, EmployeeFilter, EmployeeRow},
        milestones::views::{self as milestone_views, MilestoneFilter, MilestoneView},
    },
    domain::{
        text_of,
        timeline::{Current, Timeline},
    },
    error::{AppError, AppResult, ErrorBody},
};

/// The longest `q`.
const MAX_SEARCH: usize = 100;
/// The longest `status`.
const MAX_STATUS: usize = 64;
/// The newest changes an employee's page shows (the rest page on through `GET /api/changes`).
const DETAIL_CHANGES: i64 = 200;
/// The milestones an employee's page shows, by due date.
const DETAIL_MILESTONES: i64 = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_employees)).routes(routes!(get_employee))
}

/// The list's sort key: the name lowercased, then the id.
type EmployeeKey = (String, Uuid);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EmployeesQuery {
    /// Only this company's employees.
    company_id: Option<Uuid>,
    /// Only employees whose name contains this (case-insensitive; 1 to 100 characters).
    #[serde(default, deserialize_with = "search")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 100, example = "de vries")]
    q: Option<String>,
    /// Only employees with this Employes status (case-insensitive), e.g. `active`, `pending`,
    /// `out of service`.
    #[serde(default, deserialize_with = "status")]
    #[param(value_type = Option<String>, min_length = 1, max_length = 64, example = "active")]
    status: Option<String>,
    /// How many employees per page, by name.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<50, { MAX_LIMIT }>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<EmployeeKey>)]
    cursor: Option<Cursor<EmployeeKey>>,
}

/// `?q=`: 1 to 100 characters.
fn search<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    bounded(deserializer, MAX_SEARCH, || format!("q must be 1 to {MAX_SEARCH} characters"))
}

/// `?status=`: 1 to 64 characters.
fn status<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    bounded(deserializer, MAX_STATUS, || format!("status must be 1 to {MAX_STATUS} characters"))
}

fn bounded<'de, D: Deserializer<'de>>(
    deserializer: D,
    max: usize,
    message: impl FnOnce() -> String,
) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if (1..=max).contains(&text.chars().count()) { Ok(Some(text)) } else { Err(D::Error::custom(message())) }
}

/// An employee as the list shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmployeeView {
    id: Uuid,
    company_id: Uuid,
    /// "First [prefix] Surname".
    name: String,
    /// The Employes status as sent (lowercased): `active`, `pending`, `out of service`, ….
    #[schema(required = true)]
    status: Option<String>,
    #[schema(required = true)]
    employee_number: Option<String>,
    /// Whether their employment history is stored (the timeline then has periods).
    has_history: bool,
    /// Contract, hours and wage today: from the employment history, else from the record's
    /// embedded employment; `null` when neither says anything.
    #[schema(required = true)]
    current: Option<Current>,
    /// When the stored record or history last changed.
    updated_at: DateTime<Utc>,
    /// When a complete list of Employes last left them out (`null` while listed).
    #[schema(required = true)]
    removed_at: Option<DateTime<Utc>>,
}

impl EmployeeView {
    fn of(row: &EmployeeRow, timeline: &Timeline, today: NaiveDate) -> EmployeeView {
        let current = timeline.current(today).or_else(|| row.employment.as_ref().and_then(Current::from_employment));
        EmployeeView {
            id: row.id,
            company_id: row.company_id,
            name: row.name.clone(),
            status: row.status.clone(),
            employee_number: row.employee_number.as_ref().and_then(text_of),
            has_history: row.has_history,
            current,
            updated_at: row.updated_at,
            removed_at: row.removed_at,
        }
    }
}

fn timeline_of(row: &EmployeeRow) -> Timeline {
    row.employments.as_ref().map(Timeline::from_employments).unwrap_or_default()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EmployeeList {
    employees: Vec<EmployeeView>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The stored employees of the companies the caller sees, by name (case-insensitively, then id);
/// `q` searches names. Erased employees are not stored; employees Employes no longer lists are
/// (with `removed_at`).
#[utoipa::path(get, path = "/api/employees", tag = "employees", params(EmployeesQuery), security(("bearer" = [])),
    responses((status = 200, description = "a page of employees", body = EmployeeList,
               links(("first_employee" = (operation_id = "get_employee",
                                          parameters(("id" = "$response.body#/employees/0/id")))))),
              (status = 400, description = "a malformed or unknown query parameter (named)", body = ErrorBody),
              CompanyNotFound, Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(limit = q.limit.get()))]
async fn list_employees(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<EmployeesQuery>,
) -> AppResult<impl IntoResponse> {
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let limit = q.limit.get();
    // Postgres text holds no NUL, so neither does any name or status: nothing matches.
    let impossible = |t: &Option<String>| t.as_deref().is_some_and(|t| t.contains('\0'));
    let rows = if impossible(&q.q) || impossible(&q.status) {
        Vec::new()
    } else {
        let filter = EmployeeFilter {
            company_id: q.company_id,
            companies: who.visible(),
            name_contains: q.q.as_deref(),
            status: q.status.as_deref(),
            after: q.cursor.map(|c| c.0),
            limit: paging::fetch_limit(limit),
        };
        employee_views::list(&state.db, &filter).await?
    };
    let (rows, next_cursor) = paging::page(rows, limit, |r: &EmployeeRow| (r.sort_name.clone(), r.id));
    let today = state.config.milestones.today();
    let employees = rows.iter().map(|r| EmployeeView::of(r, &timeline_of(r), today)).collect();
    Ok(axum::Json(EmployeeList { employees, next_cursor }))
}

/// One employee, their employment history and what happened to them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EmployeeDetail {
    #[serde(flatten)]
    employee: EmployeeView,
    /// Every salary, hours and contract period of every employment, by start date (empty
    /// lists when the history is not stored).
    timeline: Timeline,
    /// Their newest 200 changes, newest first.
    changes: Vec<ChangeView>,
    /// When they have more changes: the `cursor` of `GET /api/changes?employee_id=…` for the
    /// rest; else `null`.
    #[schema(required = true)]
    changes_next_cursor: Option<String>,
    /// Their milestones (resolved ones too), by due date, status as of today in `TIMEZONE`.
    milestones: Vec<MilestoneView>,
}

/// One employee with their timeline (salary, hours and contracts over time), changes and
/// milestones.
#[utoipa::path(get, path = "/api/employees/{id}", tag = "employees",
    params(("id" = Uuid, Path, description = "the employee")), security(("bearer" = [])),
    responses((status = 200, description = "the employee", body = EmployeeDetail),
              (status = 400, description = "a malformed id", body = ErrorBody),
              (status = 404, description = "no such employee (unknown, erased, or of a company the caller may not see)",
               body = ErrorBody),
              Authenticated, Storage))]
#[tracing::instrument(skip_all, fields(employee_id = %id))]
async fn get_employee(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let row = employee_views::get(&state.db, id)
        .await?
        .filter(|r| state.company(&who, Some(r.company_id)).is_ok())
        .ok_or_else(|| AppError::NotFound("no such employee".into()))?;
    let today = state.config.milestones.today();
    let changes = ChangeFilter {
        company_id: Some(row.company_id),
        employee_id: Some(id),
        limit: Some(paging::fetch_limit(DETAIL_CHANGES)),
        ..ChangeFilter::default()
    };
    let changes = changes::list(&state.db, &changes).await?;
    let (changes, changes_next_cursor) = paging::page(changes, DETAIL_CHANGES, ChangeRow::key);
    let milestones = MilestoneFilter {
        company_id: Some(row.company_id),
        employee_id: Some(id),
        limit: Some(DETAIL_MILESTONES),
        ..MilestoneFilter::default()
    };
    let milestones = milestone_views::list(&state.db, &milestones, today).try_collect().await?;
    let timeline = timeline_of(&row);
    Ok(axum::Json(EmployeeDetail {
        employee: EmployeeView::of(&row, &timeline, today),
        timeline,
        changes: changes.into_iter().map(ChangeView::from).collect(),
        changes_next_cursor,
        milestones,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::tests::query;

    #[tokio::test]
    async fn each_bad_filter_gets_a_message_that_names_it() {
        // Arrange
        let long = "x".repeat(MAX_SEARCH + 1);
        let cases = [
            ("q=".to_string(), "q must be 1 to 100 characters"),
            (format!("q={long}"), "q must be 1 to 100 characters"),
            ("status=".to_string(), "status must be 1 to 64 characters"),
            ("limit=0".to_string(), "limit must be between 1 and 500"),
            ("cursor=abc".to_string(), "cursor must be a next_cursor this list gave out"),
            ("company_id=7".to_string(), "Failed to deserialize query string: company_id: UUID parsing failed"),
        ];
        for (params, expected) in cases {
            // Act
            let err = query::<EmployeesQuery>(&format!("/api/employees?{params}")).await.err().unwrap();
            // Assert
            assert!(err.starts_with(expected), "{params}: {err}");
        }
        let unknown = query::<EmployeesQuery>("/api/employees?name=x").await.err().unwrap();
        assert!(unknown.contains("unknown field `name`"), "{unknown}");
    }

    #[tokio::test]
    async fn filters_and_a_cursor_given_out_parse_into_their_types() {
        // Arrange
        let key: EmployeeKey = ("anna de vries~".into(), Uuid::from_u128(7));
        let cursor = Cursor::encode(&key);
        let uri = format!("/api/employees?q=%C3%A9%25&status=out%20of%20service&limit=7&cursor={cursor}");
        // Act
        let q = query::<EmployeesQuery>(&uri).await.unwrap();
        // Assert
        assert_eq!((q.q.as_deref(), q.status.as_deref()), (Some("é%"), Some("out of service")));
        assert_eq!((q.limit.get(), q.cursor.map(|c| c.0)), (7, Some(key)));
        let q100 = "é".repeat(MAX_SEARCH);
        assert!(query::<EmployeesQuery>(&format!("/api/employees?q={q100}")).await.is_ok(), "100 characters");
    }
}
