//! The companies a deployment serves: their settings and their sealed secrets (opened only by
//! `companies`). Deleting a company deletes everything stored about it (`ON DELETE CASCADE`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Db;

/// A `companies` row as stored (secrets still sealed).
#[derive(Debug, Clone)]
pub struct CompanyRow {
    pub id: Uuid,
    pub name: String,
    pub simulated: bool,
    pub from_env: bool,
    pub rate_limit: Option<i32>,
    pub schedule: Option<String>,
    pub watch_interval_secs: Option<i32>,
    pub history_refresh_after_secs: Option<i32>,
    pub chain_max_contracts: i32,
    pub chain_max_months: i32,
    pub chain_gap_months: i32,
    pub api_key_enc: Option<Vec<u8>>,
    pub api_key_expires_at: Option<DateTime<Utc>>,
    pub webhook_secrets_enc: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `query_as!` into [`CompanyRow`]: `$head`, its columns, then `$tail`.
macro_rules! company_query {
    ($head:literal, $tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            CompanyRow,
            $head
                + r#" id, name, simulated, from_env, rate_limit, schedule, watch_interval_secs,
                      history_refresh_after_secs, chain_max_contracts, chain_max_months, chain_gap_months,
                      api_key_enc, api_key_expires_at, webhook_secrets_enc, created_at, updated_at "#
                + $tail
            $(, $arg)*
        )
    };
}

/// The settings a new company is stored with (secrets already sealed).
#[derive(Debug, Clone, Default)]
pub struct NewCompanyRow {
    pub id: Uuid,
    pub name: String,
    pub rate_limit: Option<i32>,
    pub schedule: Option<String>,
    pub watch_interval_secs: Option<i32>,
    pub history_refresh_after_secs: Option<i32>,
    pub chain_max_contracts: Option<i32>,
    pub chain_max_months: Option<i32>,
    pub chain_gap_months: Option<i32>,
    pub api_key_enc: Option<Vec<u8>>,
    pub api_key_expires_at: Option<DateTime<Utc>>,
    pub webhook_secrets_enc: Option<Vec<u8>>,
}

/// A change of settings: `None` leaves a field alone; `Some(None)` sets a nullable one back to
/// its default.
#[derive(Debug, Clone, Default)]
pub struct CompanyPatchRow {
    pub name: Option<String>,
    pub rate_limit: Option<Option<i32>>,
    pub schedule: Option<Option<String>>,
    pub watch_interval_secs: Option<Option<i32>>,
    pub history_refresh_after_secs: Option<Option<i32>>,
    pub chain_max_contracts: Option<i32>,
    pub chain_max_months: Option<i32>,
    pub chain_gap_months: Option<i32>,
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<CompanyRow>> {
    company_query!("SELECT", "FROM companies ORDER BY created_at, id").fetch_all(db).await
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<CompanyRow>> {
    company_query!("SELECT", "FROM companies WHERE id = $1", id).fetch_optional(db).await
}

/// Every company id, oldest first.
pub async fn ids(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!("SELECT id FROM companies ORDER BY created_at, id").fetch_all(db).await
}

/// Register (or refresh) a company of `EMPLOYES_COMPANY_ID`. `name` replaces the stored one
/// only when given; the expiry of the environment's key is kept only while no key is stored.
pub async fn upsert_from_env(
    db: &Db,
    id: Uuid,
    name: Option<&str>,
    env_key_expires_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO companies (id, name, from_env, simulated, api_key_expires_at)
           VALUES ($1::uuid, coalesce($2, 'Company ' || left($1::uuid::text, 8)), true, false, $3)
           ON CONFLICT (id) DO UPDATE SET
               name = coalesce($2, companies.name), from_env = true, simulated = false,
               api_key_expires_at = CASE WHEN companies.api_key_enc IS NULL THEN $3
                                         ELSE companies.api_key_expires_at END,
               updated_at = now()
           WHERE companies.from_env IS DISTINCT FROM true OR companies.simulated
              OR ($2::text IS NOT NULL AND companies.name IS DISTINCT FROM $2)
              OR (companies.api_key_enc IS NULL AND companies.api_key_expires_at IS DISTINCT FROM $3)"#,
        id,
        name,
        env_key_expires_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Register (or keep) a company of the built-in simulator, under the simulator's name for it.
pub async fn upsert_simulated(db: &Db, id: Uuid, name: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO companies (id, name, simulated, from_env) VALUES ($1, $2, true, false)
           ON CONFLICT (id) DO UPDATE SET simulated = true, from_env = false, name = EXCLUDED.name, updated_at = now()
           WHERE NOT companies.simulated OR companies.from_env OR companies.name IS DISTINCT FROM EXCLUDED.name"#,
        id,
        name,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Delete the simulated companies (and their data) but `keep`; returns how many.
pub async fn delete_simulated_except(db: &Db, keep: &[Uuid]) -> sqlx::Result<u64> {
    Ok(sqlx::query!("DELETE FROM companies WHERE simulated AND NOT (id = ANY($1))", keep)
        .execute(db)
        .await?
        .rows_affected())
}

/// Insert a company; `false` when its id exists.
pub async fn insert(conn: &mut PgConnection, c: &NewCompanyRow) -> sqlx::Result<bool> {
    let rows = sqlx::query!(
        r#"INSERT INTO companies (id, name, rate_limit, schedule, watch_interval_secs, history_refresh_after_secs,
                                  chain_max_contracts, chain_max_months, chain_gap_months,
                                  api_key_enc, api_key_expires_at, webhook_secrets_enc)
           VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, 3), coalesce($8, 36), coalesce($9, 6), $10, $11, $12)
           ON CONFLICT (id) DO NOTHING"#,
        c.id,
        c.name,
        c.rate_limit,
        c.schedule,
        c.watch_interval_secs,
        c.history_refresh_after_secs,
        c.chain_max_contracts,
        c.chain_max_months,
        c.chain_gap_months,
        c.api_key_enc,
        c.api_key_expires_at,
        c.webhook_secrets_enc,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// Apply a patch; the row after it, or `None` for an unknown company.
pub async fn update(conn: &mut PgConnection, id: Uuid, p: &CompanyPatchRow) -> sqlx::Result<Option<CompanyRow>> {
    company_query!(
        r#"UPDATE companies SET
               name = coalesce($2, name),
               rate_limit = CASE WHEN $3 THEN $4 ELSE rate_limit END,
               schedule = CASE WHEN $5 THEN $6 ELSE schedule END,
               watch_interval_secs = CASE WHEN $7 THEN $8 ELSE watch_interval_secs END,
               history_refresh_after_secs = CASE WHEN $9 THEN $10 ELSE history_refresh_after_secs END,
               chain_max_contracts = coalesce($11, chain_max_contracts),
               chain_max_months = coalesce($12, chain_max_months),
               chain_gap_months = coalesce($13, chain_gap_months),
               updated_at = now()
           WHERE id = $1
           RETURNING"#,
        "",
        id,
        p.name,
        p.rate_limit.is_some(),
        p.rate_limit.flatten(),
        p.schedule.is_some(),
        p.schedule.clone().flatten(),
        p.watch_interval_secs.is_some(),
        p.watch_interval_secs.flatten(),
        p.history_refresh_after_secs.is_some(),
        p.history_refresh_after_secs.flatten(),
        p.chain_max_contracts,
        p.chain_max_months,
        p.chain_gap_months,
    )
    .fetch_optional(conn)
    .await
}

/// Delete a company and everything stored about it; `false` for an unknown one.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<bool> {
    Ok(sqlx::query!("DELETE FROM companies WHERE id = $1", id).execute(conn).await?.rows_affected() == 1)
}

/// Store (or, with `None`, remove) a company's sealed API key and its expiry; `false` for an
/// unknown company.
pub async fn set_api_key(
    conn: &mut PgConnection,
    id: Uuid,
    sealed: Option<&[u8]>,
    expires_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    let rows = sqlx::query!(
        "UPDATE companies SET api_key_enc = $2, api_key_expires_at = $3, updated_at = now() WHERE id = $1",
        id,
        sealed,
        expires_at,
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// Store (or remove) a company's sealed webhook secrets; `false` for an unknown company.
pub async fn set_webhook_secrets(conn: &mut PgConnection, id: Uuid, sealed: Option<&[u8]>) -> sqlx::Result<bool> {
    let rows =
        sqlx::query!("UPDATE companies SET webhook_secrets_enc = $2, updated_at = now() WHERE id = $1", id, sealed,)
            .execute(conn)
            .await?
            .rows_affected();
    Ok(rows == 1)
}

/// What the company API shows of a company's syncs and data.
#[derive(Debug, Clone)]
pub struct CompanyActivity {
    pub id: Uuid,
    /// A session of the company is queued or running.
    pub active: bool,
    /// When its most recent successful full sync ended.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Its most recently requested session failed: when, and why.
    pub failed_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    /// Employees listed (not removed).
    pub employees: i64,
}

/// [`CompanyActivity`] of each of `ids` (one query however many companies).
pub async fn activity(db: &Db, ids: &[Uuid]) -> sqlx::Result<Vec<CompanyActivity>> {
    sqlx::query_as!(
        CompanyActivity,
        r#"SELECT c.id AS "id!",
                  EXISTS (SELECT 1 FROM sync_sessions s
                          WHERE s.company_id = c.id AND s.status IN ('queued', 'running')) AS "active!",
                  (SELECT max(s.completed_at) FROM sync_sessions s
                   WHERE s.company_id = c.id AND s.scope = 'full'
                     AND s.status IN ('completed', 'completed_with_errors')) AS last_success_at,
                  CASE WHEN l.status = 'failed' THEN coalesce(l.completed_at, l.requested_at) END AS failed_at,
                  CASE WHEN l.status = 'failed' THEN coalesce(l.failure_reason, 'the sync failed') END AS failure_reason,
                  (SELECT count(*) FROM employees e WHERE e.company_id = c.id AND e.removed_at IS NULL) AS "employees!"
           FROM UNNEST($1::uuid[]) AS c(id)
           LEFT JOIN LATERAL (SELECT s.status, s.completed_at, s.requested_at, s.failure_reason FROM sync_sessions s
                              WHERE s.company_id = c.id ORDER BY s.requested_at DESC LIMIT 1) l ON true"#,
        ids,
    )
    .fetch_all(db)
    .await
}
