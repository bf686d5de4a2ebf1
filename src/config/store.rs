//! Postgres and NATS: `DATABASE_URL`, `DATABASE_MAX_CONNECTIONS`, `DATABASE_API_CONNECTIONS`,
//! `NATS_URL`, `NATS_SUBJECT_PREFIX`, `NATS_STREAM_REPLICAS`.

use secrecy::SecretString;

use super::{
    ConfigError,
    values::{Values, bad},
};

pub(super) struct Store {
    pub database_url: SecretString,
    pub pools: Pools,
    pub nats_urls: String,
    pub subject_prefix: String,
    pub stream_replicas: usize,
}

/// The sizes of the process's Postgres pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pools {
    /// Connections of the main pool: the worker's sessions, admissions and every background task.
    pub max: u32,
    /// Connections of the HTTP API's own pool (its handlers and live streams; `db::api_pool`).
    pub api: u32,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Store, ConfigError> {
    let subject_prefix = v.text("NATS_SUBJECT_PREFIX").unwrap_or("employes").to_string();
    if !subject_prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || subject_prefix.len() > 64 {
        return Err(bad("NATS_SUBJECT_PREFIX", "use 1-64 letters, digits, '_' or '-'"));
    }
    let stream_replicas = v.whole("NATS_STREAM_REPLICAS", 1usize)?;
    if !(1..=5).contains(&stream_replicas) {
        return Err(bad("NATS_STREAM_REPLICAS", "must be 1 to 5"));
    }
    let database_url = v.text("DATABASE_URL").unwrap_or("postgres://postgres@127.0.0.1:5432/employes_sync");
    // The URL may hold a password: the problem never shows it.
    if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
        return Err(bad("DATABASE_URL", "expected a URL like postgres://user@host:5432/database"));
    }
    let pools = Pools {
        max: v.whole("DATABASE_MAX_CONNECTIONS", crate::db::DEFAULT_MAX_CONNECTIONS)?,
        api: v.whole("DATABASE_API_CONNECTIONS", 8u32)?,
    };
    if pools.max == 0 {
        return Err(bad("DATABASE_MAX_CONNECTIONS", "must be at least 1"));
    }
    if pools.api == 0 {
        return Err(bad("DATABASE_API_CONNECTIONS", "must be at least 1"));
    }
    Ok(Store {
        database_url: SecretString::from(database_url.to_string()),
        pools,
        nats_urls: v.text("NATS_URL").unwrap_or("nats://127.0.0.1:4222").to_string(),
        subject_prefix,
        stream_replicas,
    })
}
