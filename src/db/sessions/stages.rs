//! A session's stage rows (written only through `sync::progress`) and its per-employee or
//! per-stage errors.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Db;
use crate::domain::{Stage, StageStatus};

// Every field is always sent (`null` when unknown): each `Option` is `required` in the document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageRow {
    pub stage: Stage,
    pub status: StageStatus,
    pub processed: i32,
    pub total: i32,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
}

// Every field is always sent (`null` when unknown): each `Option` is `required` in the document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorRow {
    pub stage: Stage,
    #[schema(required = true)]
    pub employee_id: Option<Uuid>,
    pub code: String,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

/// One per-employee or per-stage problem.
#[derive(Debug, Clone)]
pub struct NewError {
    pub employee_id: Option<Uuid>,
    pub code: String,
    pub message: String,
}

/// A stage's end: its status, its counts, and the session count it sets (employees processed
/// for the snapshot, employees with history for the history, changes detected for the changes).
#[derive(Debug, Clone, Copy)]
pub struct StageEnd {
    pub stage: Stage,
    pub status: StageStatus,
    pub processed: i32,
    pub total: i32,
    pub count: i32,
}

/// A session's stages, in run order.
pub async fn stages(db: &Db, id: Uuid) -> sqlx::Result<Vec<StageRow>> {
    sqlx::query_as!(
        StageRow,
        r#"SELECT stage AS "stage: Stage", status AS "status: StageStatus", processed, total, started_at, completed_at
           FROM sync_stages WHERE session_id = $1 ORDER BY position"#,
        id
    )
    .fetch_all(db)
    .await
}

/// The stages of several sessions in one query, each session's in run order.
pub async fn stages_for(db: &Db, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, Vec<StageRow>>> {
    let rows = sqlx::query!(
        r#"SELECT session_id, stage AS "stage: Stage", status AS "status: StageStatus", processed, total,
                  started_at, completed_at
           FROM sync_stages WHERE session_id = ANY($1) ORDER BY session_id, position"#,
        ids
    )
    .fetch_all(db)
    .await?;
    let mut by_session: HashMap<Uuid, Vec<StageRow>> = HashMap::with_capacity(ids.len());
    for r in rows {
        by_session.entry(r.session_id).or_default().push(StageRow {
            stage: r.stage,
            status: r.status,
            processed: r.processed,
            total: r.total,
            started_at: r.started_at,
            completed_at: r.completed_at,
        });
    }
    Ok(by_session)
}

pub async fn stage_started(db: &Db, id: Uuid, stage: Stage, total: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_stages SET status = 'running', processed = 0, total = $3, started_at = now(), completed_at = NULL
         WHERE session_id = $1 AND stage = $2",
        id,
        stage.as_str(),
        total
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn stage_progress(db: &Db, id: Uuid, stage: Stage, processed: i32, total: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_stages SET processed = $3, total = $4 WHERE session_id = $1 AND stage = $2",
        id,
        stage.as_str(),
        processed,
        total
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Close a stage and fold its count into the session, in one statement (both rows or neither).
/// A stage closed without having been marked running (a stage with nothing to do) gets its start
/// time now.
pub async fn stage_finished(db: &Db, id: Uuid, end: &StageEnd) -> sqlx::Result<()> {
    sqlx::query!(
        r#"WITH stage AS (
               UPDATE sync_stages SET status = $3, processed = $4, total = $5, completed_at = now(),
                                      started_at = coalesce(started_at, now())
               WHERE session_id = $1 AND stage = $2
           )
           UPDATE sync_sessions SET
             employees_processed = CASE WHEN $2 = 'snapshot' THEN $6 ELSE employees_processed END,
             history_collected = CASE WHEN $2 = 'history' THEN $6 ELSE history_collected END,
             changes_detected = CASE WHEN $2 = 'changes' THEN $6 ELSE changes_detected END,
             errors_count = (SELECT count(*)::int FROM sync_errors WHERE session_id = $1)
           WHERE id = $1"#,
        id,
        end.stage.as_str(),
        end.status.as_str(),
        end.processed,
        end.total,
        end.count
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn errors(db: &Db, id: Uuid, limit: i64) -> sqlx::Result<Vec<ErrorRow>> {
    sqlx::query_as!(
        ErrorRow,
        r#"SELECT stage AS "stage: Stage", employee_id, code, message, occurred_at
           FROM sync_errors WHERE session_id = $1 ORDER BY id LIMIT $2"#,
        id,
        limit
    )
    .fetch_all(db)
    .await
}

/// How many of the session's errors have this code.
pub async fn count_errors_with_code(db: &Db, id: Uuid, code: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM sync_errors WHERE session_id = $1 AND code = $2"#, id, code)
        .fetch_one(db)
        .await
}

pub async fn add_errors(db: &Db, id: Uuid, stage: Stage, errors: &[NewError]) -> sqlx::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let employees: Vec<Option<Uuid>> = errors.iter().map(|e| e.employee_id).collect();
    let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    sqlx::query!(
        r#"INSERT INTO sync_errors (session_id, stage, employee_id, code, message, company_id)
           SELECT $1, $2, t.*, (SELECT company_id FROM sync_sessions WHERE id = $1)
           FROM UNNEST($3::uuid[], $4::text[], $5::text[]) AS t"#,
        id,
        stage.as_str(),
        &employees as &[Option<Uuid>],
        &codes as &[&str],
        &messages as &[&str],
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Errors of earlier attempts at a stage that is being run again.
pub async fn clear_stage_errors(db: &Db, id: Uuid, stage: Stage) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sync_errors WHERE session_id = $1 AND stage = $2", id, stage.as_str())
        .execute(db)
        .await?;
    Ok(())
}
