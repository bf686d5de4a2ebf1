//! Company issues: one ongoing row per (company, kind); a repeat updates it, a success of that
//! kind resolves it (`domain::issues` decides which).

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Db;
use crate::domain::{IssueKind, IssueStatus};

/// An issue as `GET /api/issues` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssueRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub kind: IssueKind,
    pub status: IssueStatus,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How often it was seen while ongoing.
    pub count: i32,
    pub message: String,
    /// When it was resolved (`null` while ongoing).
    #[schema(required = true)]
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Open an issue, or update the ongoing one of its kind: last seen, count and message. An
/// update within `quiet` of the last sighting changes nothing (a daily check run by several
/// replicas counts once).
pub async fn raise(
    db: impl sqlx::PgExecutor<'_>,
    company: Uuid,
    kind: IssueKind,
    message: &str,
    quiet: std::time::Duration,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO issues (id, company_id, kind, message) VALUES ($1, $2, $3, $4)
           ON CONFLICT (company_id, kind) WHERE status = 'ongoing' DO UPDATE
               SET last_seen = now(), count = issues.count + 1, message = EXCLUDED.message
               WHERE issues.last_seen <= now() - make_interval(secs => $5::float8)"#,
        Uuid::new_v4(),
        company,
        kind as IssueKind,
        message,
        quiet.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Resolve the company's ongoing issues of these kinds; returns how many.
pub async fn resolve(db: &Db, company: Uuid, kinds: &[IssueKind]) -> sqlx::Result<u64> {
    if kinds.is_empty() {
        return Ok(0);
    }
    Ok(sqlx::query!(
        r#"UPDATE issues SET status = 'resolved', resolved_at = now()
           WHERE company_id = $1 AND status = 'ongoing' AND kind = ANY($2)"#,
        company,
        kinds as &[IssueKind],
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Filters of `GET /api/issues`.
#[derive(Debug, Default)]
pub struct IssueFilter<'a> {
    pub company_id: Option<Uuid>,
    /// Only these companies (a caller's scope); `None` = all.
    pub companies: Option<&'a [Uuid]>,
    pub status: Option<IssueStatus>,
    /// Only issues after this (`last_seen`, `id`) in the list's order (a page's cursor).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Most recently seen first (then by id, descending).
pub async fn list(db: &Db, f: &IssueFilter<'_>) -> sqlx::Result<Vec<IssueRow>> {
    sqlx::query_as!(
        IssueRow,
        r#"SELECT id, company_id, kind AS "kind: IssueKind", status AS "status: IssueStatus", first_seen, last_seen,
                  count, message, resolved_at
           FROM issues
           WHERE ($1::uuid IS NULL OR company_id = $1)
             AND ($2::uuid[] IS NULL OR company_id = ANY($2))
             AND ($3::text IS NULL OR status = $3)
             AND ($5::timestamptz IS NULL OR (last_seen, id) < ($5, $6::uuid))
           ORDER BY last_seen DESC, id DESC
           LIMIT $4"#,
        f.company_id,
        f.companies as Option<&[Uuid]>,
        f.status as Option<IssueStatus>,
        f.limit,
        f.after.map(|(at, _)| at),
        f.after.map(|(_, id)| id),
    )
    .fetch_all(db)
    .await
}
