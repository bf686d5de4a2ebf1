//! Erasure: everything stored about one employee deleted in one transaction, a tombstone kept.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;

/// What decides whether an employee may be erased.
#[derive(Debug)]
pub struct Erasable {
    pub company_id: Uuid,
    pub status: Option<String>,
    /// No longer listed by Employes.
    pub removed: bool,
}

impl Erasable {
    /// Out of service, or no longer listed: only then may their data go.
    pub fn still_employed(&self) -> bool {
        !self.removed && !self.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("out of service"))
    }
}

/// The employee, locked for the erasure (`None` when unknown, or already erased).
pub async fn lock_employee(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Erasable>> {
    sqlx::query_as!(
        Erasable,
        r#"SELECT company_id, status, removed_at IS NOT NULL AS "removed!" FROM employees WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// A tombstone: the erasure as the `employee_erased` event tells it.
#[derive(Debug, Clone)]
pub struct Tombstone {
    pub employee_id: Uuid,
    pub company_id: Uuid,
    pub erased_at: DateTime<Utc>,
    pub event_id: Uuid,
    pub sequence: i64,
}

/// The tombstone of an erased employee (`None` when they were never erased, or are back).
pub async fn tombstone(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Tombstone>> {
    sqlx::query_as!(
        Tombstone,
        "SELECT employee_id, company_id, erased_at, event_id, sequence FROM erased_employees WHERE employee_id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Delete every row about the employee — record and employment versions, changes (published or
/// not), milestones and their pending events, session errors, their id in webhook deliveries and targeted sessions, the employee — and
/// keep the tombstone. Call it in the transaction that locked the employee.
pub async fn erase(conn: &mut PgConnection, company: Uuid, id: Uuid, sequence: i64) -> sqlx::Result<Tombstone> {
    sqlx::query!("DELETE FROM employee_versions WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM employment_versions WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM changes WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM milestone_events WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM milestones WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("DELETE FROM sync_errors WHERE employee_id = $1", id).execute(&mut *conn).await?;
    sqlx::query!("UPDATE webhook_deliveries SET employee_id = NULL WHERE employee_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "UPDATE sync_sessions SET employee_ids = array_remove(employee_ids, $1) WHERE employee_ids @> ARRAY[$1::uuid]",
        id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM employees WHERE id = $1", id).execute(&mut *conn).await?;
    sqlx::query_as!(
        Tombstone,
        r#"INSERT INTO erased_employees (employee_id, company_id, event_id, sequence) VALUES ($1, $2, $3, $4)
           ON CONFLICT (employee_id) DO UPDATE
               SET erased_at = now(), event_id = EXCLUDED.event_id, sequence = EXCLUDED.sequence, published_at = NULL
           RETURNING employee_id, company_id, erased_at, event_id, sequence"#,
        id,
        company,
        Uuid::new_v4(),
        sequence,
    )
    .fetch_one(&mut *conn)
    .await
}

/// Tombstones whose event is not on the stream yet, oldest first.
pub async fn unpublished(db: &Db, limit: i64) -> sqlx::Result<Vec<Tombstone>> {
    sqlx::query_as!(
        Tombstone,
        r#"SELECT employee_id, company_id, erased_at, event_id, sequence FROM erased_employees
           WHERE published_at IS NULL ORDER BY erased_at LIMIT $1"#,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn mark_published(db: &Db, event_ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE erased_employees SET published_at = now() WHERE event_id = ANY($1)", event_ids)
        .execute(db)
        .await?;
    Ok(())
}
