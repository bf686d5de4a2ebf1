//! The milestone events outbox: events recorded by evaluation, waiting to be published.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    db::Db,
    domain::milestones::{MilestoneKind, MilestoneReason},
};

/// One recorded milestone event.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub id: Uuid,
    pub milestone_id: Uuid,
    pub company_id: Uuid,
    pub employee_id: Uuid,
    pub kind: MilestoneKind,
    pub reason: MilestoneReason,
    pub days_before: Option<i32>,
    pub due_date: NaiveDate,
    /// The milestone as it was when the event was recorded.
    pub milestone: Value,
    pub baseline: bool,
    /// The employee's number on the milestones stream.
    pub sequence: i64,
    pub created_at: DateTime<Utc>,
}

/// Unpublished events (of one company, or of all) recorded at least `min_age_secs` ago, in the
/// order they were recorded.
pub async fn unpublished(
    db: &Db,
    company: Option<Uuid>,
    min_age_secs: f64,
    limit: i64,
) -> sqlx::Result<Vec<PendingEvent>> {
    sqlx::query_as!(
        PendingEvent,
        r#"SELECT id, milestone_id, company_id, employee_id, kind AS "kind: MilestoneKind",
                  reason AS "reason: MilestoneReason", days_before, due_date, milestone, baseline, sequence,
                  created_at
           FROM milestone_events
           WHERE published_at IS NULL AND created_at <= now() - make_interval(secs => $1)
             AND ($3::uuid IS NULL OR company_id = $3)
           ORDER BY position
           LIMIT $2"#,
        min_age_secs,
        limit,
        company
    )
    .fetch_all(db)
    .await
}

pub async fn mark_published(db: &Db, ids: &[Uuid]) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query!("UPDATE milestone_events SET published_at = now() WHERE id = ANY($1) AND published_at IS NULL", ids)
        .execute(db)
        .await?;
    Ok(())
}

/// How many milestone events wait in the outbox.
pub async fn count_unpublished(db: &Db) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM milestone_events WHERE published_at IS NULL"#)
        .fetch_one(db)
        .await
}
