//! The audit log: who did what to which company or record, written by [`record`] in the same
//! transaction as the action it describes, read newest first by [`list`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;
use crate::domain::{AuditAction, Role};

/// One audited action, before it is stored. No personal values: `actor` is a sign-in name
/// (e-mail address of the person) or a token's name, `target` the id of what was acted on.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub role: Role,
    pub action: AuditAction,
    pub company_id: Option<Uuid>,
    pub target: Option<String>,
    /// The `x-request-id` of the HTTP request, when there was one.
    pub request_id: Option<String>,
}

/// An entry as `GET /api/audit` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    #[serde(skip)]
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: Role,
    pub action: AuditAction,
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
    #[schema(required = true)]
    pub target: Option<String>,
    #[schema(required = true)]
    pub request_id: Option<String>,
}

/// Record `entry`; call it with the transaction of the action itself, so the action and its
/// entry are committed (or rolled back) together.
pub async fn record(conn: &mut PgConnection, entry: AuditEntry) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO audit_entries (id, actor, role, action, company_id, target, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        Uuid::new_v4(),
        entry.actor,
        entry.role as Role,
        entry.action as AuditAction,
        entry.company_id,
        entry.target,
        entry.request_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` entries, newest first, strictly older than `after` (the last entry of the
/// previous page: its time and id).
pub async fn list(db: &Db, after: Option<(DateTime<Utc>, Uuid)>, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    let (at, id) = after.unzip();
    sqlx::query_as!(
        AuditRow,
        r#"SELECT id, at, actor, role AS "role: Role", action AS "action: AuditAction", company_id, target, request_id
           FROM audit_entries
           WHERE $1::timestamptz IS NULL OR (at, id) < ($1, $2::uuid)
           ORDER BY at DESC, id DESC
           LIMIT $3"#,
        at,
        id,
        limit,
    )
    .fetch_all(db)
    .await
}
