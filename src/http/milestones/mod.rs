//! `GET /api/milestones` (JSON pages or a streamed CSV export) and
//! `POST /api/milestones/{id}/resolve` (a user says the notice was given).

mod csv;

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use chrono::{Days, NaiveDate};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    export::{self, Format},
    extract::{self, Limit, Path, Query},
    paging::{self, Cursor},
    responses::{Authenticated, CompanyNotFound, Forbidden, Storage},
};
use crate::{
    db::milestones::views::{self, After, MilestoneFilter, MilestoneView},
    domain::{
        Role,
        milestones::{MilestoneKind, MilestoneStatus},
    },
    error::{AppError, AppResult, ErrorBody},
    sync::milestones::{ByHand, outbox, resolve_by_hand},
};

/// The longest `within`: ten years of days.
const MAX_WITHIN_DAYS: u64 = 3650;
/// The longest note a resolution takes.
const MAX_NOTE: usize = 2000;
/// Largest accepted resolve body.
const MAX_BODY: usize = 16 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_milestones)).routes(routes!(resolve_milestone))
}

/// `?within=`: a number of days, like `90d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Within(u64);

impl<'de> Deserialize<'de> for Within {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.strip_suffix('d')
            .filter(|n| !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| (1..=MAX_WITHIN_DAYS).contains(n))
            .map(Within)
            .ok_or_else(|| {
                D::Error::custom(format!("within must be a number of days from 1d to {MAX_WITHIN_DAYS}d, like 90d"))
            })
    }
}

/// The list's sort key: due date, then id.
type MilestoneKey = (NaiveDate, Uuid);

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct MilestonesQuery {
    /// Only this company's milestones.
    company_id: Option<Uuid>,
    /// Only this employee's milestones.
    #[serde(default, deserialize_with = "extract::employee_id")]
    employee_id: Option<Uuid>,
    /// Only milestones of this kind.
    kind: Option<MilestoneKind>,
    /// Only milestones with this status (as of today in `TIMEZONE`).
    status: Option<MilestoneStatus>,
    /// Only milestones due within this many days from today (and those already due or overdue),
    /// like `90d`; at most 3650d.
    #[param(value_type = Option<String>, pattern = r"^([1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650)d$",
            example = "90d")]
    within: Option<Within>,
    /// `true`: only milestones that still ask for something — unresolved, and a
    /// `change_effective` only until its date has passed (the dashboard's "Upcoming").
    #[serde(default)]
    open: bool,
    /// A previous page's `next_cursor`.
    #[param(schema_with = paging::cursor_schema::<MilestoneKey>)]
    cursor: Option<Cursor<MilestoneKey>>,
    /// How many milestones per page (JSON only; the CSV export has every match).
    #[serde(default)]
    #[param(inline)]
    limit: Limit<50, 500>,
    /// `csv`: every matching milestone as a streamed CSV file (header row, UTF-8).
    #[serde(default)]
    #[param(inline)]
    format: Format,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MilestoneList {
    milestones: Vec<MilestoneView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    next_cursor: Option<String>,
    /// The day the statuses are worked out for: today in `TIMEZONE` (or `MILESTONE_TODAY`).
    today: NaiveDate,
}

/// The companies the caller may see (`None` = all).
fn visible_companies(who: &Identity) -> Option<Vec<Uuid>> {
    who.companies.clone()
}

/// Milestones by due date: what is about to happen in employees' contracts (README, "Milestones").
#[utoipa::path(get, path = "/api/milestones", tag = "milestones", params(MilestonesQuery), security(("bearer" = [])),
    responses((status = 200, description = "a page of milestones, or (`format=csv`) every match as CSV",
               content((MilestoneList = "application/json"), (String = "text/csv"))),
              (status = 400, description = "a malformed or unknown query parameter (e.g. within beyond 3650d)", body = ErrorBody),
              CompanyNotFound, Authenticated, Storage))]
async fn list_milestones(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<MilestonesQuery>,
) -> AppResult<Response> {
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let today = state.config.milestones.today();
    let due_by = q.within.map(|Within(days)| today.checked_add_days(Days::new(days)).unwrap_or(NaiveDate::MAX));
    let mut filter = MilestoneFilter {
        company_id: q.company_id,
        companies: visible_companies(&who),
        employee_id: q.employee_id,
        kind: q.kind,
        status: q.status,
        due_by,
        open: q.open,
        after: q.cursor.map(|Cursor((due_date, id))| After { due_date, id }),
        limit: None,
    };
    if q.format == Format::Csv {
        let db = state.db.clone();
        let mut rows = Box::pin(async_stream::stream! {
            let mut inner = views::list(&db, &filter, today);
            while let Some(row) = inner.next().await {
                yield row;
            }
        });
        let first = rows.next().await.transpose()?;
        return Ok(export::csv("milestones.csv", first, rows));
    }
    let limit = q.limit.get();
    filter.limit = Some(paging::fetch_limit(limit));
    let rows: Vec<MilestoneView> = views::list(&state.db, &filter, today).try_collect().await?;
    let (milestones, next_cursor) = paging::page(rows, limit, |m| (m.due_date, m.id));
    Ok(axum::Json(MilestoneList { milestones, next_cursor, today }).into_response())
}

/// Body of `POST /api/milestones/{id}/resolve` (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// How and when the notice was given (at most 2000 characters).
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// Say the notice was given: a `notice_due` milestone is resolved as `acknowledged` (with the
/// note), and its `resolved` event is published. Other kinds resolve themselves from the data.
#[utoipa::path(post, path = "/api/milestones/{id}/resolve", tag = "milestones",
    params(("id" = Uuid, Path, description = "the milestone")),
    request_body(content = Option<ResolveBody>, content_type = "application/json",
                 description = "optional: a note on how the notice was given"),
    security(("bearer" = [])),
    responses((status = 200, description = "the milestone, resolved", body = MilestoneView),
              (status = 400, description = "a malformed id or body, or a note longer than 2000 characters", body = ErrorBody),
              (status = 403, description = "the caller's role is below operator (`forbidden`)", body = ErrorBody),
              (status = 404, description = "no such milestone", body = ErrorBody),
              (status = 409, description = "only a notice_due milestone can be acknowledged (`not_acknowledgeable`), \
                                            or it is resolved already (`already_resolved`)", body = ErrorBody),
              (status = 413, description = "the body is larger than 16 KiB", body = ErrorBody),
              (status = 415, description = "a body that is not application/json", body = ErrorBody),
              Authenticated, Forbidden, Storage))]
#[tracing::instrument(skip_all, fields(milestone = %id))]
async fn resolve_milestone(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Operator)?;
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| AppError::PayloadTooLarge(MAX_BODY))?;
    let parsed = parse_body(&headers, &body)?;
    let visible = visible_companies(&who);
    let sees = |company: Uuid| visible.as_ref().is_none_or(|v| v.contains(&company));
    let request_id = extract::request_id(&headers);
    let by_hand =
        ByHand { by: &who.name, role: who.role, note: parsed.note.as_deref(), request_id: request_id.as_deref() };
    let view = resolve_by_hand(&state.db, &state.config.milestones, id, by_hand, sees).await?;
    outbox::publish_now(&state.db, &state.bus, view.company_id).await;
    tracing::info!(kind = %view.kind, "milestone acknowledged");
    Ok(axum::Json(view))
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> AppResult<ResolveBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ResolveBody::default());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
    if !is_json {
        return Err(AppError::UnsupportedMediaType("expected Content-Type: application/json".into()));
    }
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(AppError::BadRequest("the body must be a JSON object like {\"note\": \"..\"}".into()));
    }
    let parsed: ResolveBody =
        serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid request body: {e}")))?;
    if parsed.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        return Err(AppError::BadRequest(format!("note must be at most {MAX_NOTE} characters")));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::tests::query;

    #[tokio::test]
    async fn within_takes_days_up_to_ten_years_and_says_so_otherwise() {
        // Arrange
        let message = "within must be a number of days from 1d to 3650d, like 90d";
        // Act / Assert
        for ok in ["1d", "90d", "3650d"] {
            let q = query::<MilestonesQuery>(&format!("/api/milestones?within={ok}")).await.unwrap();
            assert_eq!(q.within.map(|w| w.0), ok.trim_end_matches('d').parse().ok(), "{ok}");
        }
        for bad in ["0d", "3651d", "090d", "90", "d", "-5d", "90days", "2w", "9999999999999999999999d"] {
            let err = query::<MilestonesQuery>(&format!("/api/milestones?within={bad}")).await.err();
            assert_eq!(err.as_deref(), Some(message), "{bad}");
        }
    }

    #[tokio::test]
    async fn filters_parse_into_their_types_and_bad_ones_name_themselves() {
        // Arrange
        let company = "0b7d7c8e-1111-4222-8333-944455556666";
        let uri = format!("/api/milestones?company_id={company}&kind=notice_due&status=overdue&format=csv&limit=500");
        // Act
        let q = query::<MilestonesQuery>(&uri).await.unwrap();
        // Assert
        assert_eq!(q.company_id, Some(company.parse().unwrap()));
        assert_eq!(
            (q.kind, q.status, q.format),
            (Some(MilestoneKind::NoticeDue), Some(MilestoneStatus::Overdue), Format::Csv)
        );
        assert_eq!(q.limit.get(), 500);
        let kind = query::<MilestonesQuery>("/api/milestones?kind=birthday").await.err().unwrap();
        assert!(kind.contains("unknown variant `birthday`, expected one of `contract_ending`"), "{kind}");
        for bad in ["bm9wZQ", "739000", "739000~not-a-uuid", "12345678~00000000-0000-0000-0000-000000000000"] {
            let cursor = query::<MilestonesQuery>(&format!("/api/milestones?cursor={bad}")).await.err();
            assert_eq!(cursor.as_deref(), Some("cursor must be a next_cursor this list gave out"), "{bad}");
        }
        let employee = query::<MilestonesQuery>("/api/milestones?employee_id=7").await.err().unwrap();
        assert_eq!(employee, "employee_id must be a UUID");
    }

    #[tokio::test]
    async fn a_cursor_given_out_reads_back_as_the_same_place() {
        let key: MilestoneKey = ("2026-02-28".parse().unwrap(), Uuid::from_u128(42));
        let cursor = Cursor::encode(&key);
        let q = query::<MilestonesQuery>(&format!("/api/milestones?cursor={cursor}")).await.unwrap();
        assert_eq!(q.cursor.map(|c| c.0), Some(key));
        assert_eq!(cursor, "739675~00000000-0000-0000-0000-00000000002a");
    }

    #[test]
    fn a_resolve_body_is_optional_and_its_note_is_bounded() {
        let json = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().unwrap());
            h
        };
        let ok = parse_body(&json("application/json"), &Bytes::from_static(br#"{"note":"letter of 1 May"}"#));
        assert_eq!(ok.unwrap().note.as_deref(), Some("letter of 1 May"));
        assert!(parse_body(&HeaderMap::new(), &Bytes::new()).unwrap().note.is_none());
        let long = format!(r#"{{"note":"{}"}}"#, "x".repeat(MAX_NOTE + 1));
        let err = parse_body(&json("application/json"), &Bytes::from(long)).unwrap_err();
        assert_eq!(err.to_string(), "note must be at most 2000 characters");
        assert!(matches!(
            parse_body(&json("text/plain"), &Bytes::from_static(b"{}")),
            Err(AppError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse_body(&json("application/json"), &Bytes::from_static(b"null")),
            Err(AppError::BadRequest(_))
        ));
        let unknown = parse_body(&json("application/json"), &Bytes::from_static(br#"{"notes":"x"}"#)).unwrap_err();
        assert!(unknown.to_string().contains("unknown field `notes`"), "{unknown}");
    }
}
