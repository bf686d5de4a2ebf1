//! Milestones as the API, the CSV export and the events show them: [`MilestoneView`], read with
//! its status as of a given day, listed by due date with a keyset cursor.

use chrono::{DateTime, NaiveDate, Utc};
use futures::{StreamExt as _, stream::BoxStream};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::{
    db::Db,
    domain::milestones::{ContractRef, Details, MilestoneKind, MilestoneStatus, Resolution, status_on},
};

/// A milestone (README, "Milestones"). Every field is always sent (`null` when it has no value).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MilestoneView {
    pub id: Uuid,
    pub company_id: Uuid,
    pub employee_id: Uuid,
    /// The employee's display name; `null` when the employee is no longer stored.
    #[schema(required = true)]
    pub employee_name: Option<String>,
    pub kind: MilestoneKind,
    pub due_date: NaiveDate,
    /// As of today in `TIMEZONE`: `upcoming` before `due_date`, `due` on it, `overdue` after it
    /// while unresolved (`change_effective` stays `due`), `resolved` once resolved.
    pub status: MilestoneStatus,
    /// The contract it is about; `null` for `change_effective`.
    #[schema(required = true)]
    pub contract: Option<ContractRef>,
    pub details: Details,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub resolved_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub resolution: Option<Resolution>,
    /// What the user who resolved it wrote (e.g. how the notice was given).
    #[schema(required = true)]
    pub note: Option<String>,
}

/// A row as the list query reads it, before its status is worked out.
struct ViewRow {
    id: Uuid,
    company_id: Uuid,
    employee_id: Uuid,
    employee_name: Option<String>,
    kind: MilestoneKind,
    due_date: NaiveDate,
    contract: Option<Json<ContractRef>>,
    details: Value,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    resolution: Option<Resolution>,
    note: Option<String>,
}

impl ViewRow {
    fn into_view(self, today: NaiveDate) -> sqlx::Result<MilestoneView> {
        let details = Details::from_json(self.kind, self.details).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(MilestoneView {
            id: self.id,
            company_id: self.company_id,
            employee_id: self.employee_id,
            employee_name: self.employee_name,
            kind: self.kind,
            due_date: self.due_date,
            status: status_on(self.kind, self.due_date, self.resolution, today),
            contract: self.contract.map(|c| c.0),
            details,
            created_at: self.created_at,
            resolved_at: self.resolved_at,
            resolution: self.resolution,
            note: self.note,
        })
    }
}

/// Where a page of the list starts: after this (due date, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub due_date: NaiveDate,
    pub id: Uuid,
}

/// The list's filters (all optional) and page.
#[derive(Debug, Clone, Default)]
pub struct MilestoneFilter {
    pub company_id: Option<Uuid>,
    /// The companies the caller may see (`None` = all).
    pub companies: Option<Vec<Uuid>>,
    pub employee_id: Option<Uuid>,
    pub kind: Option<MilestoneKind>,
    pub status: Option<MilestoneStatus>,
    /// Only milestones due on or before this date.
    pub due_by: Option<NaiveDate>,
    /// Only milestones that still ask for something: unresolved, and a `change_effective` only
    /// until its date has passed.
    pub open: bool,
    pub after: Option<After>,
    /// `None`: every match (the CSV export).
    pub limit: Option<i64>,
}

/// `query_as!` into [`ViewRow`]: the one list of its columns (with their types) from
/// `milestones m` and the employee's name, then `$tail` (`WHERE … ORDER BY …`).
macro_rules! view_query {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ViewRow,
            r#"SELECT m.id, m.company_id, m.employee_id, e.display_name AS "employee_name?", m.kind AS "kind: MilestoneKind",
                      m.due_date, m.contract AS "contract: Json<ContractRef>", m.details, m.created_at, m.resolved_at,
                      m.resolution AS "resolution: Resolution", m.note
               FROM milestones m LEFT JOIN employees e ON e.id = m.employee_id "#
                + $tail
            $(, $arg)*
        )
    };
}

/// Matching milestones by due date (then id), their status as of `today`; streamed.
pub fn list<'a>(db: &'a Db, f: &'a MilestoneFilter, today: NaiveDate) -> BoxStream<'a, sqlx::Result<MilestoneView>> {
    view_query!(
        r#"WHERE ($1::uuid IS NULL OR m.company_id = $1)
             AND ($2::uuid[] IS NULL OR m.company_id = ANY($2))
             AND ($3::uuid IS NULL OR m.employee_id = $3)
             AND ($4::text IS NULL OR m.kind = $4)
             AND ($5::text IS NULL OR $5 = CASE
                     WHEN m.resolution IS NOT NULL THEN 'resolved'
                     WHEN m.due_date > $6 THEN 'upcoming'
                     WHEN m.due_date = $6 OR m.kind = 'change_effective' THEN 'due'
                     ELSE 'overdue' END)
             AND ($7::date IS NULL OR m.due_date <= $7)
             AND ($8::date IS NULL OR (m.due_date, m.id) > ($8, $9::uuid))
             AND (NOT $11 OR (m.resolution IS NULL AND (m.kind <> 'change_effective' OR m.due_date >= $6)))
           ORDER BY m.due_date, m.id
           LIMIT $10"#,
        f.company_id,
        f.companies.as_deref() as Option<&[Uuid]>,
        f.employee_id,
        f.kind as Option<MilestoneKind>,
        f.status as Option<MilestoneStatus>,
        today,
        f.due_by,
        f.after.map(|a| a.due_date),
        f.after.map(|a| a.id),
        f.limit,
        f.open,
    )
    .fetch(db)
    .map(move |row| row.and_then(|r| r.into_view(today)))
    .boxed()
}

/// One milestone, its status as of `today`.
pub async fn get(conn: &mut PgConnection, id: Uuid, today: NaiveDate) -> sqlx::Result<Option<MilestoneView>> {
    Ok(get_many(conn, &[id], today).await?.pop())
}

/// The given milestones (those that exist, in no particular order), their status as of `today`.
pub async fn get_many(conn: &mut PgConnection, ids: &[Uuid], today: NaiveDate) -> sqlx::Result<Vec<MilestoneView>> {
    let rows = view_query!(r#"WHERE m.id = ANY($1)"#, ids).fetch_all(conn).await?;
    rows.into_iter().map(|r| r.into_view(today)).collect()
}
