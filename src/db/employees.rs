//! Employees, their record versions and their employment-history versions.
//! A version is written only when the content hash changed.

use futures::stream::BoxStream;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Db;
use crate::domain::{
    Employee,
    minimise::{DigestKey, minimise},
};

/// Content hash of a JSON value (serde_json maps are key-sorted, so this is canonical).
pub fn content_hash(v: &Value) -> Vec<u8> {
    Sha256::digest(serde_json::to_vec(v).unwrap_or_default()).to_vec()
}

/// Store a company's employee records, minimised (only shown fields as sent, the others as
/// digests under `key`: see [`crate::domain::minimise`]); returns how many got a new version. An
/// id another company already holds is left to that company.
pub async fn store_snapshots(
    db: &Db,
    company: Uuid,
    session: Uuid,
    batch: &[Employee],
    key: &DigestKey,
) -> sqlx::Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = batch.iter().map(|e| e.id).collect();
    let data: Vec<Value> = batch.iter().map(|e| minimise(&e.raw, key)).collect();
    let hashes: Vec<Vec<u8>> = data.iter().map(content_hash).collect();
    let names: Vec<String> = batch.iter().map(Employee::display_name).collect();
    let statuses: Vec<Option<String>> = batch.iter().map(Employee::status).collect();
    let updates: Vec<Option<String>> = batch.iter().map(Employee::dt_update).collect();
    // An erased employee is stored again only once Employes lists them as active (then the
    // tombstone goes); until then their record is dropped here. One statement: the tombstone's
    // delete is not visible to the statement's own snapshot, so `input` lets active ones through.
    let result = sqlx::query!(
        r#"WITH unerased AS (
               DELETE FROM erased_employees x USING UNNEST($2::uuid[], $6::text[]) AS t(id, status)
               WHERE x.employee_id = t.id AND t.status = 'active'
           ), input AS (
               SELECT * FROM UNNEST($2::uuid[], $3::bytea[], $4::jsonb[], $5::text[], $6::text[], $7::text[])
                   AS t(id, hash, data, name, status, dt_update)
               WHERE t.status = 'active' OR NOT EXISTS (SELECT 1 FROM erased_employees x WHERE x.employee_id = t.id)
           ), upserted AS (
               INSERT INTO employees AS e (id, company_id, display_name, status, snapshot_hash, snapshot_version, dt_update,
                                           first_seen_session)
               SELECT id, $8, name, status, hash, 1, dt_update, $1 FROM input
               ON CONFLICT (id) DO UPDATE SET
                   display_name = EXCLUDED.display_name, status = EXCLUDED.status,
                   snapshot_hash = EXCLUDED.snapshot_hash, snapshot_version = e.snapshot_version + 1,
                   dt_update = EXCLUDED.dt_update, removed_at = NULL, removed_session = NULL, updated_at = now()
               WHERE e.company_id = EXCLUDED.company_id
                 AND (e.snapshot_hash <> EXCLUDED.snapshot_hash OR e.removed_at IS NOT NULL)
               RETURNING e.id, e.snapshot_version
           ), closed AS (
               UPDATE employee_versions v SET valid_to = now() FROM upserted u
               WHERE v.employee_id = u.id AND v.version = u.snapshot_version - 1 AND v.valid_to IS NULL
           )
           INSERT INTO employee_versions (employee_id, version, content_hash, data, session_id, company_id, minimised)
           SELECT u.id, u.snapshot_version, i.hash, i.data, $1, $8, true FROM upserted u JOIN input i ON i.id = u.id"#,
        session,
        &ids,
        &hashes,
        &data,
        &names,
        &statuses as &[Option<String>],
        &updates as &[Option<String>],
        company,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// Mark the company's employees that are no longer listed upstream (only after a complete list).
pub async fn mark_removed_except(db: &Db, company: Uuid, session: Uuid, seen: &[Uuid]) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "UPDATE employees SET removed_at = now(), removed_session = $1, updated_at = now()
         WHERE company_id = $3 AND removed_at IS NULL AND NOT (id = ANY($2))",
        session,
        seen,
        company
    )
    .execute(db)
    .await?
    .rows_affected())
}

pub async fn mark_removed(db: &Db, company: Uuid, session: Uuid, id: Uuid) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "UPDATE employees SET removed_at = now(), removed_session = $1, updated_at = now()
         WHERE id = $2 AND company_id = $3 AND removed_at IS NULL",
        session,
        id,
        company
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Seconds since the company's previous history stage that did its work (completed, with or
/// without errors; not this session's), by the database clock; `None` before the first.
pub async fn since_last_refresh(db: &Db, company: Uuid, session: Uuid) -> sqlx::Result<Option<f64>> {
    sqlx::query_scalar!(
        r#"SELECT extract(epoch FROM now() - max(started_at))::float8 AS "secs"
           FROM sync_stages
           WHERE company_id = $1 AND stage = 'history' AND session_id <> $2
             AND status IN ('completed', 'completed_with_errors')"#,
        company,
        session
    )
    .fetch_one(db)
    .await
}

/// Employees to collect history for. Targeted: the given ones that exist. Full: every current
/// one when `refresh_after` is zero; otherwise those whose record this session changed, those
/// never fetched, and the **rolling refresh share**: the ceil(N × `share`) histories read longest
/// ago among the others (N = the company's current employees, `share` = the time since the
/// previous refresh ÷ `refresh_after`, see [`crate::sync::stages::history::refresh_share`]), so
/// every history is re-read within `refresh_after` with a flat load. Any history older than
/// `refresh_after` is read too.
pub async fn history_due(
    db: &Db,
    company: Uuid,
    session: Uuid,
    only: Option<&[Uuid]>,
    refresh_after: std::time::Duration,
    share: f64,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"WITH cur AS (
               SELECT id, history_fetched_at,
                      ($2::uuid[] IS NOT NULL OR $3::float8 <= 0 OR history_fetched_at IS NULL
                       OR EXISTS (SELECT 1 FROM employee_versions v WHERE v.employee_id = e.id AND v.session_id = $1))
                          AS must
               FROM employees e
               WHERE removed_at IS NULL AND company_id = $4 AND ($2::uuid[] IS NULL OR id = ANY($2))
           ), rolling AS (
               SELECT id FROM cur WHERE NOT must
               ORDER BY history_fetched_at, id
               LIMIT (SELECT ceil(count(*) * greatest($5::float8, 0))::bigint FROM cur)
           )
           SELECT id AS "id!" FROM cur
           WHERE must OR history_fetched_at < now() - make_interval(secs => $3)
           UNION
           SELECT id FROM rolling
           ORDER BY 1"#,
        session,
        only as Option<&[Uuid]>,
        refresh_after.as_secs_f64(),
        company,
        share,
    )
    .fetch_all(db)
    .await
}

/// The company's current employees (all, or the given ones) whose stored history is not empty.
pub async fn count_with_history(db: &Db, company: Uuid, only: Option<&[Uuid]>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM employees
           WHERE company_id = $2 AND removed_at IS NULL AND has_history AND ($1::uuid[] IS NULL OR id = ANY($1))"#,
        only as Option<&[Uuid]>,
        company
    )
    .fetch_one(db)
    .await
}

/// One employee's freshly fetched employments.
#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub employee_id: Uuid,
    pub employments: Value,
    pub has_history: bool,
}

/// Store a company's employment histories; returns how many got a new version.
pub async fn store_histories(db: &Db, company: Uuid, session: Uuid, batch: &[HistoryItem]) -> sqlx::Result<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = batch.iter().map(|h| h.employee_id).collect();
    let hashes: Vec<Vec<u8>> = batch.iter().map(|h| content_hash(&h.employments)).collect();
    let data: Vec<Value> = batch.iter().map(|h| h.employments.clone()).collect();
    let has: Vec<bool> = batch.iter().map(|h| h.has_history).collect();
    let result = sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($2::uuid[], $3::bytea[], $4::jsonb[], $5::bool[]) AS t(id, hash, data, has)
           ), fetched AS (
               UPDATE employees e SET history_fetched_at = now()
               FROM input i
               WHERE e.id = i.id AND e.company_id = $6 AND e.history_hash IS NOT DISTINCT FROM i.hash
           ), updated AS (
               UPDATE employees e SET history_hash = i.hash, history_version = e.history_version + 1,
                                      has_history = i.has, history_fetched_at = now(), updated_at = now()
               FROM input i
               WHERE e.id = i.id AND e.company_id = $6 AND e.history_hash IS DISTINCT FROM i.hash
               RETURNING e.id, e.history_version
           ), closed AS (
               UPDATE employment_versions v SET valid_to = now() FROM updated u
               WHERE v.employee_id = u.id AND v.version = u.history_version - 1 AND v.valid_to IS NULL
           )
           INSERT INTO employment_versions (employee_id, version, content_hash, data, session_id, company_id)
           SELECT u.id, u.history_version, i.hash, i.data, $1, $6 FROM updated u JOIN input i ON i.id = u.id"#,
        session,
        &ids,
        &hashes,
        &data,
        &has,
        company,
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// What one session wrote for one employee: the record version it stored last and the one
/// before its first (`current` absent when it marked the employee removed), and the latest
/// employment history it stored. Absent parts were not touched by the session.
#[derive(Debug)]
pub struct SessionDiff {
    pub employee_id: Uuid,
    /// The record version that identifies the diff (current version, or last one when removed).
    pub version: Option<i32>,
    pub current: Option<Value>,
    pub previous: Option<Value>,
    pub history: Option<Value>,
}

/// Every employee the given sessions touched (a session, and failed ones before it whose
/// versions were never diffed), in employee order, streamed so a company is never held in
/// memory at once.
pub fn session_diffs<'a>(db: &'a Db, sessions: &'a [Uuid]) -> BoxStream<'a, sqlx::Result<SessionDiff>> {
    sqlx::query_as!(
        SessionDiff,
        r#"WITH mine AS (
               SELECT employee_id, min(version) AS first_v, max(version) AS last_v
               FROM employee_versions WHERE session_id = ANY($1) GROUP BY employee_id
           ), records AS (
               SELECT m.employee_id, m.last_v AS version, cur.data AS current, prev.data AS previous
               FROM mine m
               JOIN employee_versions cur ON cur.employee_id = m.employee_id AND cur.version = m.last_v
               LEFT JOIN employee_versions prev ON prev.employee_id = m.employee_id AND prev.version = m.first_v - 1
               UNION ALL
               SELECT e.id, e.snapshot_version, NULL::jsonb, v.data
               FROM employees e JOIN employee_versions v ON v.employee_id = e.id AND v.version = e.snapshot_version
               WHERE e.removed_session = ANY($1)
           ), histories AS (
               SELECT DISTINCT ON (employee_id) employee_id, data
               FROM employment_versions WHERE session_id = ANY($1)
               ORDER BY employee_id, version DESC
           )
           SELECT coalesce(r.employee_id, h.employee_id) AS "employee_id!", r.version AS "version?",
                  r.current AS "current?", r.previous AS "previous?", h.data AS "history?"
           FROM records r FULL OUTER JOIN histories h ON h.employee_id = r.employee_id
           ORDER BY 1"#,
        sessions
    )
    .fetch(db)
}

/// How many employees [`session_diffs`] yields.
pub async fn count_session_diffs(db: &Db, sessions: &[Uuid]) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM (
               SELECT employee_id FROM employee_versions WHERE session_id = ANY($1)
               UNION SELECT id FROM employees WHERE removed_session = ANY($1)
               UNION SELECT employee_id FROM employment_versions WHERE session_id = ANY($1)) touched"#,
        sessions
    )
    .fetch_one(db)
    .await
}

/// The company's baseline: no full sync of the session's company has completed before it.
pub async fn is_baseline(db: &Db, session: Uuid) -> sqlx::Result<bool> {
    Ok(!sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM sync_sessions
                          WHERE scope = 'full' AND status IN ('completed', 'completed_with_errors') AND id <> $1
                            AND company_id = (SELECT company_id FROM sync_sessions WHERE id = $1)
                            AND requested_at < (SELECT requested_at FROM sync_sessions WHERE id = $1)) AS "exists!""#,
        session
    )
    .fetch_one(db)
    .await?)
}
