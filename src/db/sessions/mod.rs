//! Sync sessions: the row, opening and joining sessions, and reads. Claims and heartbeats,
//! stage rows and errors, and schedule slots have a file each; their functions are re-exported
//! here, so callers write `sessions::claim`, `sessions::stages_for`, `sessions::claim_slot`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use sqlx::PgExecutor;

use super::Db;
use crate::domain::{Scope, SessionStatus, Source, Stage};

/// `query_as!` into [`SessionRow`]: `$head`, then the one list of its columns (with their
/// types), then `$tail` — for a `SELECT … FROM` as for an `UPDATE … RETURNING`.
macro_rules! session_query {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::db::sessions::SessionRow,
            $head
                + r#" id, company_id, source AS "source: crate::domain::Source", triggered_by, scope AS "scope: crate::domain::Scope",
                      employee_ids, status AS "status: crate::domain::SessionStatus", requested_at, started_at,
                      completed_at, employees_processed, history_collected, changes_detected, errors_count,
                      failure_reason, request_id, attempts "#
                + $tail
            $(, $arg)*
        )
    };
}

mod claims;
mod slots;
mod stages;

pub use claims::{Claim, claim, finish, heartbeat, reap, release};
pub use slots::{claim_slot, claim_watch_slot, set_slot_session, set_watch_slot_session};
pub use stages::{
    ErrorRow, NewError, StageEnd, StageRow, add_errors, clear_stage_errors, count_errors_with_code, errors,
    stage_finished, stage_progress, stage_started, stages, stages_for,
};

// Every field is always sent (`null` when unknown): each `Option` is `required` in the document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionRow {
    pub id: Uuid,
    pub company_id: Uuid,
    pub source: Source,
    pub triggered_by: String,
    pub scope: Scope,
    #[schema(required = true)]
    pub employee_ids: Option<Vec<Uuid>>,
    pub status: SessionStatus,
    pub requested_at: DateTime<Utc>,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
    pub employees_processed: i32,
    pub history_collected: i32,
    pub changes_detected: i32,
    pub errors_count: i32,
    #[schema(required = true)]
    pub failure_reason: Option<String>,
    /// The `Nats-Msg-Id` of the queue task that opened the session: the task that keeps it
    /// alive until it ends (tasks of triggers that joined it carry other ids).
    #[serde(skip)]
    pub request_id: String,
    /// Claims so far (each worker that took the session counts one).
    #[serde(skip)]
    pub attempts: i32,
}

impl SessionRow {
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

/// What a new session row needs.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub company_id: Uuid,
    pub source: Source,
    pub triggered_by: &'a str,
    /// `None` = a full sync.
    pub employee_ids: Option<&'a [Uuid]>,
    pub idempotency_key: Option<&'a str>,
    /// See [`SessionRow::request_id`].
    pub request_id: &'a str,
}

/// Insert a queued session with its pending stages, in one statement. `None` when a unique rule
/// refused it (an active full sync exists, or the idempotency key was used): then no stage row
/// is written either.
pub async fn insert(db: impl PgExecutor<'_>, s: &NewSession<'_>) -> sqlx::Result<Option<SessionRow>> {
    let names: Vec<&str> = Stage::ORDER.iter().map(|s| s.as_str()).collect();
    session_query!(
        r#"WITH s AS (
               INSERT INTO sync_sessions (id, source, triggered_by, scope, employee_ids, idempotency_key, request_id,
                                          company_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT DO NOTHING
               RETURNING *
           ), stages AS (
               INSERT INTO sync_stages (session_id, stage, position, company_id)
               SELECT s.id, t.stage, t.position::smallint, s.company_id
               FROM s, UNNEST($9::text[]) WITH ORDINALITY AS t(stage, position)
           )
           SELECT"#,
        "FROM s",
        s.id,
        s.source.as_str(),
        s.triggered_by,
        Scope::of(s.employee_ids).as_str(),
        s.employee_ids as Option<&[Uuid]>,
        s.idempotency_key,
        s.request_id,
        s.company_id,
        &names as &[&str],
    )
    .fetch_optional(db)
    .await
}

/// The session of an idempotency key (stored as `<company>:<caller>:<key>`).
pub async fn find_by_idempotency_key(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<SessionRow>> {
    session_query!("SELECT", "FROM sync_sessions WHERE idempotency_key = $1", key).fetch_optional(db).await
}

/// The company's full sync that is queued or running (at most one).
pub async fn active_full(db: impl PgExecutor<'_>, company: Uuid) -> sqlx::Result<Option<SessionRow>> {
    session_query!(
        "SELECT",
        "FROM sync_sessions WHERE company_id = $1 AND scope = 'full' AND status IN ('queued', 'running')",
        company
    )
    .fetch_optional(db)
    .await
}

/// Fold employees into a recent queued session of the company from the same source (webhook
/// bursts), or into its queued full sync. Only a `queued` session qualifies: once a worker
/// claimed it, it is too late.
pub async fn coalesce_targeted(
    db: impl PgExecutor<'_>,
    company: Uuid,
    source: Source,
    ids: &[Uuid],
    window: Duration,
    max_ids: usize,
) -> sqlx::Result<Option<SessionRow>> {
    session_query!(
        r#"UPDATE sync_sessions s
           SET employee_ids = CASE WHEN s.scope = 'full' THEN NULL
                                   ELSE ARRAY(SELECT DISTINCT x FROM UNNEST(s.employee_ids || $2::uuid[]) AS x) END
           WHERE s.id = (
               SELECT id FROM sync_sessions
               WHERE status = 'queued' AND company_id = $5
                 AND ((scope = 'full') OR (scope = 'employees' AND source = $1
                      AND requested_at > now() - make_interval(secs => $3::float8)
                      AND cardinality(employee_ids) + cardinality($2::uuid[]) <= $4))
               ORDER BY scope = 'full' DESC, requested_at DESC
               LIMIT 1
               FOR UPDATE SKIP LOCKED)
             AND s.status = 'queued'
           RETURNING"#,
        "",
        source.as_str(),
        ids,
        window.as_secs_f64(),
        max_ids as i32,
        company,
    )
    .fetch_optional(db)
    .await
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<SessionRow>> {
    session_query!("SELECT", "FROM sync_sessions WHERE id = $1", id).fetch_optional(db).await
}

/// Filters of the session list.
#[derive(Debug, Default)]
pub struct SessionFilter<'a> {
    pub company_id: Option<Uuid>,
    /// Only these companies (a caller's scope); `None` = all.
    pub companies: Option<&'a [Uuid]>,
    pub source: Option<Source>,
    pub status: Option<SessionStatus>,
    /// `Some(false)` hides quiet watches, `Some(true)` lists only them (see [`prune_quiet_watches`]).
    pub quiet: Option<bool>,
    /// Only sessions after this (`requested_at`, `id`) in the list's order (a page's cursor).
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Newest first (then by id, descending), filtered.
pub async fn list(db: &Db, f: &SessionFilter<'_>) -> sqlx::Result<Vec<SessionRow>> {
    let (after_at, after_id) = f.after.unzip();
    session_query!(
        "SELECT",
        r#"FROM sync_sessions s
           WHERE ($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR status = $2)
             AND ($4::uuid IS NULL OR company_id = $4)
             AND ($5::uuid[] IS NULL OR company_id = ANY($5))
             AND ($6::timestamptz IS NULL OR (requested_at, id) < ($6, $7::uuid))
             AND ($8::bool IS NULL OR sync_session_is_quiet(s) = $8)
           ORDER BY requested_at DESC, id DESC
           LIMIT $3"#,
        f.source.map(Source::as_str),
        f.status.map(SessionStatus::as_str),
        f.limit,
        f.company_id,
        f.companies as Option<&[Uuid]>,
        after_at,
        after_id,
        f.quiet,
    )
    .fetch_all(db)
    .await
}

/// Delete quiet watch sessions (completed, nothing recorded, no error, no version stored: the
/// SQL function `sync_session_is_quiet`) that ended longer than `keep` ago; returns how many.
pub async fn prune_quiet_watches(db: &Db, keep: Duration) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "DELETE FROM sync_sessions s
         WHERE source = 'watch' AND completed_at < now() - make_interval(secs => $1) AND sync_session_is_quiet(s)",
        keep.as_secs_f64()
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// The company's most recently requested session, whatever its state.
pub async fn latest(db: &Db, company: Uuid) -> sqlx::Result<Option<SessionRow>> {
    session_query!("SELECT", "FROM sync_sessions WHERE company_id = $1 ORDER BY requested_at DESC LIMIT 1", company)
        .fetch_optional(db)
        .await
}

/// When the company's most recent successful full sync ended.
pub async fn last_full_success_at(db: &Db, company: Uuid) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        "SELECT max(completed_at) FROM sync_sessions
         WHERE company_id = $1 AND scope = 'full' AND status IN ('completed', 'completed_with_errors')",
        company
    )
    .fetch_one(db)
    .await
}

/// Whether a session of the company is queued or running.
pub async fn any_active(db: &Db, company: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM sync_sessions WHERE company_id = $1 AND status IN ('queued', 'running')) AS "active!""#,
        company
    )
    .fetch_one(db)
    .await
}

/// A queued session whose queue task never reached the queue.
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

/// Failed sessions of the same company requested before `session` whose stored versions no
/// changes stage has diffed.
pub async fn undiffed_failed(db: &Db, session: Uuid) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"SELECT id FROM sync_sessions
           WHERE status = 'failed' AND diffed_by IS NULL
             AND company_id = (SELECT company_id FROM sync_sessions WHERE id = $1)
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
