//! How the process runs: the sync schedule, when a sync counts as outdated, logs and shutdown
//! (`SYNC_SCHEDULE`, `SYNC_OUTDATED_AFTER`, `LOG_FORMAT`, `SHUTDOWN_TIMEOUT`), and how long start-up
//! waits for Postgres and NATS (`STARTUP_TIMEOUT`).

use std::{str::FromStr, time::Duration};

use super::{
    ConfigError,
    values::{Values, bad},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

pub(super) struct Runtime {
    pub sync_schedule: Option<cron::Schedule>,
    pub sync_outdated_after: Duration,
    pub retention: Duration,
    pub log_format: Option<LogFormat>,
    pub shutdown_timeout: Duration,
    pub startup_timeout: Duration,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Runtime, ConfigError> {
    let sync_schedule = match v.text("SYNC_SCHEDULE").unwrap_or("0 0 */6 * * *") {
        "off" => None,
        expr => Some(
            cron::Schedule::from_str(expr)
                .map_err(|e| bad("SYNC_SCHEDULE", format!("not a cron expression with seconds ({e})")))?,
        ),
    };
    let log_format = match v.text("LOG_FORMAT") {
        None => None,
        Some("json") => Some(LogFormat::Json),
        Some("pretty") => Some(LogFormat::Pretty),
        Some(_) => return Err(bad("LOG_FORMAT", "must be `json` or `pretty`")),
    };
    Ok(Runtime {
        sync_schedule,
        sync_outdated_after: v.duration("SYNC_OUTDATED_AFTER", "6h")?,
        retention: v.duration("RETENTION", "400d")?,
        log_format,
        shutdown_timeout: v.duration("SHUTDOWN_TIMEOUT", "30s")?,
        startup_timeout: v.duration("STARTUP_TIMEOUT", "60s")?,
    })
}
