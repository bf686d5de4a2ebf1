//! Postgres access: small named query functions, compile-time checked (`.sqlx/` holds the
//! offline data). One module per table family.

pub mod audit;
pub mod budget;
pub mod changes;
pub mod companies;
pub mod employee_views;
pub mod employees;
pub mod endpoints;
pub mod erasure;
pub mod issues;
pub mod milestones;
pub mod privacy;
pub mod retention;
pub mod sealed;
pub mod sessions;
pub mod webhooks;

use std::{str::FromStr as _, time::Duration};

use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub type Db = PgPool;

/// Embedded migrations (forward-only).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A lazily connecting pool of [`DEFAULT_MAX_CONNECTIONS`] (see [`pool_of`]).
pub fn pool(url: &str) -> anyhow::Result<Db> {
    pool_of(url, DEFAULT_MAX_CONNECTIONS)
}

/// `DATABASE_MAX_CONNECTIONS` when it is not set.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// A lazily connecting pool of at most `max_connections`: the service starts even while
/// Postgres is briefly down, and `readyz` reports it. A connection taken from the pool is pinged
/// only when it sat idle for [`PING_IDLE_AFTER`] (sqlx's default pings on every acquire, a round
/// trip per statement): a busy pool's connections were just used, and one that broke while idle
/// (Postgres restarted) is still found and dropped before a statement fails on it.
pub fn pool_of(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    Ok(options(max_connections).connect_lazy(url)?)
}

/// The HTTP API's pool (`DATABASE_API_CONNECTIONS`), as [`pool_of`] but each statement planned
/// for its own arguments (`plan_cache_mode = force_custom_plan`). The API's list queries are
/// catch-all filters, every filter a parameter that may be null (`$1 IS NULL OR company_id = $1`,
/// …): after five runs of a prepared statement Postgres may switch to its generic plan, which
/// cannot leave the unused filters out and scans and sorts the whole table (`GET
/// /api/changes?limit=50` over 61,000 changes: 4.3 s generic, 0.4 ms planned for its arguments;
/// bench/ANALYSIS.md, the mixed load). Planning anew costs a fraction of a millisecond; the
/// worker's keyed statements, in the main pool, keep their cached plans.
pub fn api_pool(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    let connect = PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
    Ok(options(max_connections).connect_lazy_with(connect))
}

fn options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// How long a pooled connection may sit idle before it is pinged when taken (see [`pool`]).
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// Apply pending migrations, retrying while the database is still coming up. `v1_company` is
/// the company a first-version database belongs to: the migration to companies reads it from
/// the session setting `employes_sync.v1_company`, so the migrator runs on one connection.
pub async fn migrate(db: &Db, v1_company: Option<uuid::Uuid>) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        let run = async {
            let mut conn = db.acquire().await.map_err(sqlx::migrate::MigrateError::Execute)?;
            let v1 = v1_company.map(|id| id.to_string()).unwrap_or_default();
            sqlx::query!("SELECT set_config('employes_sync.v1_company', $1, false) AS \"set!\"", v1)
                .fetch_one(&mut *conn)
                .await
                .map_err(sqlx::migrate::MigrateError::Execute)?;
            let result = MIGRATOR.run(&mut *conn).await;
            // The setting stays with the connection; clear it before the pool hands it out again.
            let _ = sqlx::query!("SELECT set_config('employes_sync.v1_company', '', false) AS \"set!\"")
                .fetch_one(&mut *conn)
                .await;
            result
        };
        match run.await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(e)) if is_connection_error(&e) && attempt < 10 => {
                tracing::warn!(attempt, "database not reachable yet, retrying migrations");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            // The companies migration names EMPLOYES_COMPANY_ID itself: one line, no context.
            Err(
                sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(e))
                | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(e), _),
            ) if e.message().starts_with("EMPLOYES_COMPANY_ID") => {
                return Err(anyhow::anyhow!("invalid configuration: {}", e.message()));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("applying database migrations")),
        }
    }
    unreachable!("the loop returns")
}

/// Cheap liveness query for `readyz`.
pub async fn ping(db: &Db) -> bool {
    tokio::time::timeout(Duration::from_secs(2), sqlx::query_scalar!("SELECT 1 AS \"one!\"").fetch_one(db))
        .await
        .is_ok_and(|r| r.is_ok())
}

/// True when the database could not be reached at all (as opposed to a query failing).
pub fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_))
}
