//! Postgres access: small named query functions, compile-time checked (`.sqlx/` holds the
//! offline data). One module per table family.

pub mod changes;
pub mod employees;
pub mod sessions;
pub mod webhooks;

use std::time::Duration;

use sqlx::{PgPool, postgres::PgPoolOptions};

pub type Db = PgPool;

/// Embedded migrations (forward-only).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A lazily connecting pool: the service starts even while Postgres is briefly down,
/// and `readyz` reports it.
pub fn pool(url: &str) -> anyhow::Result<Db> {
    Ok(PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(5)).connect_lazy(url)?)
}

/// Apply pending migrations, retrying while the database is still coming up.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    let mut delay = Duration::from_millis(200);
    for attempt in 1.. {
        match MIGRATOR.run(db).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::Execute(e)) if is_connection_error(&e) && attempt < 10 => {
                tracing::warn!(attempt, "database not reachable yet, retrying migrations");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
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
