//! Milestones and their events outbox: what evaluation reads about employees, the stored rows it
//! plans against (locked for the transaction); the writes, a statement per batch, are in
//! [`write`], the list and single milestones as shown in [`views`].

pub mod events;
pub mod views;
pub mod write;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::{PgConnection, types::Json};
use uuid::Uuid;

use crate::domain::{
    ChangeType,
    milestones::{
        Anchor, ContractRef, Details, Milestone, MilestoneKey, MilestoneKind, Published, Resolution, Row, status_on,
    },
};

/// Evaluations of one company take turns (the session after-step and the daily run may meet):
/// a transaction-scoped advisory lock keyed by the company.
pub async fn lock_company(conn: &mut PgConnection, company: Uuid) -> sqlx::Result<()> {
    let (high, _) = company.as_u64_pair();
    // A namespace of its own in the advisory-lock key space: "milestn" in the top bytes.
    let key = (high ^ 0x6d69_6c65_7374_6e00) as i64;
    sqlx::query!("SELECT true AS \"locked!\" FROM pg_advisory_xact_lock($1)", key).fetch_one(conn).await?;
    Ok(())
}

/// What evaluation reads of one employee's record: whether they left, and their stored
/// employment history (the `/employments` payload).
#[derive(Debug)]
pub struct EmployeeFacts {
    pub id: Uuid,
    pub status: Option<String>,
    /// No longer listed by Employes.
    pub removed: bool,
    pub employments: Option<Value>,
}

/// A page of the company's employees (all of them, or the given ones) after `after`, by id.
pub async fn employee_facts(
    conn: &mut PgConnection,
    company: Uuid,
    only: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<EmployeeFacts>> {
    sqlx::query_as!(
        EmployeeFacts,
        r#"SELECT e.id, e.status, e.removed_at IS NOT NULL AS "removed!", v.data AS "employments?"
           FROM employees e
           LEFT JOIN employment_versions v ON v.employee_id = e.id AND v.version = e.history_version
           WHERE e.company_id = $1 AND ($2::uuid[] IS NULL OR e.id = ANY($2)) AND ($3::uuid IS NULL OR e.id > $3)
           ORDER BY e.id
           LIMIT $4"#,
        company,
        only as Option<&[Uuid]>,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

/// A recorded salary, hours or contract change with an effective date.
#[derive(Debug)]
pub struct DatedChange {
    pub id: Uuid,
    pub employee_id: Uuid,
    pub change_type: ChangeType,
    pub effective_date: NaiveDate,
    pub detected_at: DateTime<Utc>,
}

/// The dated changes of the given employees.
pub async fn dated_changes(
    conn: &mut PgConnection,
    company: Uuid,
    employees: &[Uuid],
) -> sqlx::Result<Vec<DatedChange>> {
    sqlx::query_as!(
        DatedChange,
        r#"SELECT id, employee_id, change_type AS "change_type: ChangeType", effective_date AS "effective_date!",
                  detected_at
           FROM changes
           WHERE company_id = $1 AND employee_id = ANY($2) AND effective_date IS NOT NULL
             AND change_type IN ('salary_change', 'hours_change', 'contract_change')
           ORDER BY employee_id, id"#,
        company,
        employees
    )
    .fetch_all(conn)
    .await
}

/// One stored milestone, as its columns hold it.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub employee_id: Uuid,
    pub kind: MilestoneKind,
    pub contract_start: Option<NaiveDate>,
    pub change_id: Option<Uuid>,
    pub due_date: NaiveDate,
    pub contract: Option<Json<ContractRef>>,
    pub details: Value,
    pub resolution: Option<Resolution>,
    pub published: Json<Published>,
}

impl StoredRow {
    /// The lifecycle's view of the row, its status as of `today`. `None` when the stored
    /// columns do not make a milestone (never written so; reported by the caller).
    pub fn to_row(&self, today: NaiveDate) -> Option<Row> {
        let anchor = match (self.contract_start, self.change_id) {
            (Some(start), None) => Anchor::ContractStart(start),
            (None, Some(change)) => Anchor::Change(change),
            _ => return None,
        };
        let key = MilestoneKey { company_id: self.company_id, employee_id: self.employee_id, kind: self.kind, anchor };
        let details = Details::from_json(self.kind, self.details.clone()).ok()?;
        let milestone =
            Milestone { key, due_date: self.due_date, contract: self.contract.as_ref().map(|c| c.0), details };
        let status = status_on(self.kind, self.due_date, self.resolution, today);
        Some(Row { milestone, status, resolution: self.resolution, published: self.published.0 })
    }
}

/// The stored milestones of the given employees, locked until the transaction ends.
pub async fn stored_for_update(
    conn: &mut PgConnection,
    company: Uuid,
    employees: &[Uuid],
) -> sqlx::Result<Vec<StoredRow>> {
    sqlx::query_as!(
        StoredRow,
        r#"SELECT id, company_id, employee_id, kind AS "kind: MilestoneKind", contract_start, change_id, due_date,
                  contract AS "contract: Json<ContractRef>", details, resolution AS "resolution: Resolution",
                  published AS "published: Json<Published>"
           FROM milestones
           WHERE company_id = $1 AND employee_id = ANY($2)
           ORDER BY id
           FOR UPDATE"#,
        company,
        employees
    )
    .fetch_all(conn)
    .await
}

/// One stored milestone by id, locked until the transaction ends.
pub async fn get_for_update(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<StoredRow>> {
    sqlx::query_as!(
        StoredRow,
        r#"SELECT id, company_id, employee_id, kind AS "kind: MilestoneKind", contract_start, change_id, due_date,
                  contract AS "contract: Json<ContractRef>", details, resolution AS "resolution: Resolution",
                  published AS "published: Json<Published>"
           FROM milestones WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// The employees a session touched: a record version, a removal or an employment history it stored.
pub async fn session_employees(db: &super::Db, session: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"SELECT employee_id AS "id!" FROM employee_versions WHERE session_id = $1
           UNION SELECT id FROM employees WHERE removed_session = $1
           UNION SELECT employee_id FROM employment_versions WHERE session_id = $1
           ORDER BY 1"#,
        session
    )
    .fetch_all(db)
    .await
}

/// The company's chain-rule settings.
pub async fn chain_settings(
    conn: &mut PgConnection,
    company: Uuid,
) -> sqlx::Result<Option<crate::domain::milestones::ChainSettings>> {
    let row = sqlx::query!(
        "SELECT chain_max_contracts, chain_max_months, chain_gap_months FROM companies WHERE id = $1",
        company
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| crate::domain::milestones::ChainSettings {
        max_contracts: r.chain_max_contracts.max(1) as u32,
        max_months: r.chain_max_months.max(1) as u32,
        gap_months: r.chain_gap_months.max(0) as u32,
    }))
}

/// The state of a company's daily evaluation of one day, for one replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayClaim {
    /// This replica claimed it: run it.
    Claimed,
    /// It ran already.
    Done,
    /// Another replica is running it.
    Busy,
}

/// Claim the company's daily evaluation of `day` (or take over a claim older than
/// `stale_after_secs` that never completed).
pub async fn claim_day(
    db: &super::Db,
    company: Uuid,
    day: NaiveDate,
    by: &str,
    stale_after_secs: f64,
) -> sqlx::Result<DayClaim> {
    let claimed = sqlx::query!(
        r#"INSERT INTO milestone_days (company_id, day, claimed_by) VALUES ($1, $2, $3)
           ON CONFLICT (company_id, day) DO UPDATE SET claimed_by = EXCLUDED.claimed_by, claimed_at = now()
           WHERE milestone_days.completed_at IS NULL
             AND milestone_days.claimed_at < now() - make_interval(secs => $4)"#,
        company,
        day,
        by,
        stale_after_secs
    )
    .execute(db)
    .await?;
    if claimed.rows_affected() == 1 {
        return Ok(DayClaim::Claimed);
    }
    let done = sqlx::query_scalar!(
        r#"SELECT completed_at IS NOT NULL AS "done!" FROM milestone_days WHERE company_id = $1 AND day = $2"#,
        company,
        day
    )
    .fetch_optional(db)
    .await?;
    Ok(if done == Some(true) { DayClaim::Done } else { DayClaim::Busy })
}

pub async fn complete_day(db: &super::Db, company: Uuid, day: NaiveDate) -> sqlx::Result<()> {
    sqlx::query!("UPDATE milestone_days SET completed_at = now() WHERE company_id = $1 AND day = $2", company, day)
        .execute(db)
        .await?;
    Ok(())
}
