//! Sync sessions, their stages and their errors.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Db;

pub const STAGES: [&str; 3] = ["snapshot", "history", "changes"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionRow {
    pub id: Uuid,
    pub source: String,
    pub triggered_by: String,
    pub scope: String,
    pub employee_ids: Option<Vec<Uuid>>,
    pub status: String,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub employees_processed: i32,
    pub history_collected: i32,
    pub changes_detected: i32,
    pub errors_count: i32,
    pub failure_reason: Option<String>,
    #[serde(skip)]
    pub request_id: String,
    #[serde(skip)]
    pub attempts: i32,
}

impl SessionRow {
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "completed_with_errors" | "failed")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct StageRow {
    pub stage: String,
    pub status: String,
    pub processed: i32,
    pub total: i32,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ErrorRow {
    pub stage: String,
    pub employee_id: Option<Uuid>,
    pub code: String,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

/// What a new session row needs.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub source: &'a str,
    pub triggered_by: &'a str,
    pub employee_ids: Option<&'a [Uuid]>,
    pub idempotency_key: Option<&'a str>,
    pub request_id: &'a str,
}

/// Insert a queued session with its three pending stages. `None` when a unique rule
/// refused it (an active full sync exists, or the idempotency key was used).
pub async fn insert(db: &Db, s: &NewSession<'_>) -> sqlx::Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    let scope = if s.employee_ids.is_some() { "employees" } else { "full" };
    let id = sqlx::query_scalar!(
        r#"INSERT INTO sync_sessions (id, source, triggered_by, scope, employee_ids, idempotency_key, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING
           RETURNING id"#,
        s.id,
        s.source,
        s.triggered_by,
        scope,
        s.employee_ids as Option<&[Uuid]>,
        s.idempotency_key,
        s.request_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if id.is_some() {
        sqlx::query!(
            r#"INSERT INTO sync_stages (session_id, stage, position)
               SELECT $1, stage, position::smallint FROM UNNEST($2::text[]) WITH ORDINALITY AS t(stage, position)"#,
            s.id,
            &STAGES.map(String::from) as &[String],
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn find_by_idempotency_key(db: &Db, key: &str) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(SessionRow, r#"SELECT id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at, employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts FROM sync_sessions WHERE idempotency_key = $1"#, key)
        .fetch_optional(db)
        .await
}

pub async fn active_full(db: &Db) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(SessionRow, r#"SELECT id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at, employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts FROM sync_sessions WHERE scope = 'full' AND status IN ('queued', 'running')"#)
        .fetch_optional(db)
        .await
}

/// Fold employees into a recent queued session of the same source (webhook bursts), or into a
/// queued full sync. Only a `queued` session qualifies: once a worker claimed it, it is too late.
pub async fn coalesce_targeted(
    db: &Db,
    source: &str,
    ids: &[Uuid],
    window: Duration,
    max_ids: usize,
) -> sqlx::Result<Option<SessionRow>> {
    let window_secs = window.as_secs_f64();
    sqlx::query_as!(
        SessionRow,
        r#"UPDATE sync_sessions s
           SET employee_ids = CASE WHEN s.scope = 'full' THEN NULL
                                   ELSE ARRAY(SELECT DISTINCT x FROM UNNEST(s.employee_ids || $2::uuid[]) AS x) END
           WHERE s.id = (
               SELECT id FROM sync_sessions
               WHERE status = 'queued'
                 AND ((scope = 'full') OR (scope = 'employees' AND source = $1
                      AND requested_at > now() - make_interval(secs => $3::float8)
                      AND cardinality(employee_ids) + cardinality($2::uuid[]) <= $4))
               ORDER BY scope = 'full' DESC, requested_at DESC
               LIMIT 1
               FOR UPDATE SKIP LOCKED)
             AND s.status = 'queued'
           RETURNING id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at,
                     employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts"#,
        source,
        ids,
        window_secs,
        max_ids as i32,
    )
    .fetch_optional(db)
    .await
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as!(SessionRow, r#"SELECT id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at, employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts FROM sync_sessions WHERE id = $1"#, id)
        .fetch_optional(db)
        .await
}

/// Newest first, optionally filtered.
pub async fn list(db: &Db, source: Option<&str>, status: Option<&str>, limit: i64) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as!(
        SessionRow,
        r#"SELECT id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at,
                  employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts
           FROM sync_sessions
           WHERE ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR status = $2)
           ORDER BY requested_at DESC, id
           LIMIT $3"#,
        source,
        status,
        limit,
    )
    .fetch_all(db)
    .await
}

pub async fn stages(db: &Db, id: Uuid) -> sqlx::Result<Vec<StageRow>> {
    sqlx::query_as!(
        StageRow,
        "SELECT stage, status, processed, total, started_at, completed_at FROM sync_stages WHERE session_id = $1 ORDER BY position",
        id
    )
    .fetch_all(db)
    .await
}

pub async fn errors(db: &Db, id: Uuid, limit: i64) -> sqlx::Result<Vec<ErrorRow>> {
    sqlx::query_as!(
        ErrorRow,
        "SELECT stage, employee_id, code, message, occurred_at FROM sync_errors WHERE session_id = $1 ORDER BY id LIMIT $2",
        id,
        limit
    )
    .fetch_all(db)
    .await
}

/// A queued session whose request never reached the queue.
pub async fn fail_queued(db: &Db, id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_sessions SET status = 'failed', failure_reason = $2, completed_at = now() WHERE id = $1 AND status = 'queued'",
        id,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Take a session for this worker: a queued one, a released one, or one whose worker stopped
/// heart-beating. Row locking makes exactly one claimant win.
pub async fn claim(db: &Db, id: Uuid, worker: &str, takeover_after: Duration) -> sqlx::Result<Option<SessionRow>> {
    let stale_secs = takeover_after.as_secs_f64();
    sqlx::query_as!(
        SessionRow,
        r#"UPDATE sync_sessions
           SET status = 'running', worker_id = $2, heartbeat_at = now(), attempts = attempts + 1,
               started_at = COALESCE(started_at, now())
           WHERE id = $1
             AND (status = 'queued'
                  OR (status = 'running' AND (heartbeat_at IS NULL
                                              OR heartbeat_at < now() - make_interval(secs => $3::float8))))
           RETURNING id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at,
                     employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts"#,
        id,
        worker,
        stale_secs,
    )
    .fetch_optional(db)
    .await
}

pub async fn heartbeat(db: &Db, id: Uuid, worker: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_sessions SET heartbeat_at = now() WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        id,
        worker
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Give a running session back (shutdown): the next delivery may claim it at once.
pub async fn release(db: &Db, id: Uuid, worker: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_sessions SET heartbeat_at = NULL WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        id,
        worker
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn stage_started(db: &Db, id: Uuid, stage: &str, total: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_stages SET status = 'running', processed = 0, total = $3, started_at = now(), completed_at = NULL
         WHERE session_id = $1 AND stage = $2",
        id,
        stage,
        total
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn stage_progress(db: &Db, id: Uuid, stage: &str, processed: i32, total: i32) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_stages SET processed = $3, total = $4 WHERE session_id = $1 AND stage = $2",
        id,
        stage,
        processed,
        total
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Close a stage and fold its count into the session (one transaction).
pub async fn stage_finished(
    db: &Db,
    id: Uuid,
    stage: &str,
    status: &str,
    processed: i32,
    total: i32,
    count: i32,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        "UPDATE sync_stages SET status = $3, processed = $4, total = $5, completed_at = now() WHERE session_id = $1 AND stage = $2",
        id,
        stage,
        status,
        processed,
        total
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"UPDATE sync_sessions SET
             employees_processed = CASE WHEN $2 = 'snapshot' THEN $3 ELSE employees_processed END,
             history_collected = CASE WHEN $2 = 'history' THEN $3 ELSE history_collected END,
             changes_detected = CASE WHEN $2 = 'changes' THEN $3 ELSE changes_detected END,
             errors_count = (SELECT count(*)::int FROM sync_errors WHERE session_id = $1)
           WHERE id = $1"#,
        id,
        stage,
        count
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// One per-employee or per-stage problem.
#[derive(Debug, Clone)]
pub struct NewError {
    pub employee_id: Option<Uuid>,
    pub code: String,
    pub message: String,
}

pub async fn add_errors(db: &Db, id: Uuid, stage: &str, errors: &[NewError]) -> sqlx::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let employees: Vec<Option<Uuid>> = errors.iter().map(|e| e.employee_id).collect();
    let codes: Vec<String> = errors.iter().map(|e| e.code.clone()).collect();
    let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO sync_errors (session_id, stage, employee_id, code, message)
           SELECT $1, $2, * FROM UNNEST($3::uuid[], $4::text[], $5::text[])"#,
        id,
        stage,
        &employees as &[Option<Uuid>],
        &codes,
        &messages,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Errors of earlier attempts at a stage that is being run again.
pub async fn clear_stage_errors(db: &Db, id: Uuid, stage: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sync_errors WHERE session_id = $1 AND stage = $2", id, stage).execute(db).await?;
    Ok(())
}

/// Final state. Only the worker that holds the session may write it.
pub async fn finish(db: &Db, id: Uuid, status: &str, reason: Option<&str>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"UPDATE sync_sessions
           SET status = $2, failure_reason = $3, completed_at = now(), heartbeat_at = NULL,
               errors_count = (SELECT count(*)::int FROM sync_errors WHERE session_id = $1)
           WHERE id = $1 AND status IN ('queued', 'running')"#,
        id,
        status,
        reason
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Sessions whose worker went silent for too long are failed with a reason; queued sessions
/// that no worker ever picked up likewise. Returns the ids.
pub async fn reap(db: &Db, silent_for: Duration) -> sqlx::Result<Vec<Uuid>> {
    let secs = silent_for.as_secs_f64();
    sqlx::query_scalar!(
        r#"UPDATE sync_sessions
           SET status = 'failed', completed_at = now(),
               failure_reason = CASE WHEN status = 'running'
                   THEN 'the worker stopped responding (no heartbeat) and no worker resumed the session'
                   ELSE 'no worker picked up the request' END
           WHERE (status = 'running' AND COALESCE(heartbeat_at, started_at) < now() - make_interval(secs => $1::float8))
              OR (status = 'queued' AND requested_at < now() - make_interval(secs => $1::float8) * 6)
           RETURNING id"#,
        secs
    )
    .fetch_all(db)
    .await
}

/// The most recent full session to have ended, and the most recent success.
pub async fn last_finished(db: &Db) -> sqlx::Result<(Option<SessionRow>, Option<DateTime<Utc>>)> {
    let last = sqlx::query_as!(
        SessionRow,
        r#"SELECT id, source, triggered_by, scope, employee_ids, status, requested_at, started_at, completed_at,
                  employees_processed, history_collected, changes_detected, errors_count, failure_reason, request_id, attempts
           FROM sync_sessions ORDER BY requested_at DESC LIMIT 1"#
    )
    .fetch_optional(db)
    .await?;
    let success = sqlx::query_scalar!(
        "SELECT max(completed_at) FROM sync_sessions WHERE scope = 'full' AND status IN ('completed', 'completed_with_errors')"
    )
    .fetch_one(db)
    .await?;
    Ok((last, success))
}

pub async fn any_active(db: &Db) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM sync_sessions WHERE status IN ('queued', 'running')) AS "active!""#
    )
    .fetch_one(db)
    .await
}

/// Claim a scheduler slot once across all replicas; `true` for the winner.
pub async fn claim_slot(db: &Db, slot: DateTime<Utc>) -> sqlx::Result<bool> {
    let rows = sqlx::query!("INSERT INTO schedule_slots (slot) VALUES ($1) ON CONFLICT DO NOTHING", slot)
        .execute(db)
        .await?
        .rows_affected();
    Ok(rows == 1)
}

pub async fn set_slot_session(db: &Db, slot: DateTime<Utc>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE schedule_slots SET session_id = $2 WHERE slot = $1", slot, session).execute(db).await?;
    Ok(())
}

/// Failed sessions requested before `session` whose stored versions no changes stage has diffed.
pub async fn undiffed_failed(db: &Db, session: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"SELECT id FROM sync_sessions
           WHERE status = 'failed' AND diffed_by IS NULL
             AND requested_at < (SELECT requested_at FROM sync_sessions WHERE id = $1)
           ORDER BY requested_at
           LIMIT 1000"#,
        session
    )
    .fetch_all(db)
    .await
}

/// Record that `session` diffed what the failed sessions `adopted` stored.
pub async fn mark_diffed(db: &Db, adopted: &[Uuid], session: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE sync_sessions SET diffed_by = $2 WHERE id = ANY($1) AND diffed_by IS NULL", adopted, session)
        .execute(db)
        .await?;
    Ok(())
}
