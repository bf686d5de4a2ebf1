//! How the process runs: the sync schedule and the watch, when a sync counts as outdated, logs and
//! shutdown (`SYNC_SCHEDULE`, `WATCH_INTERVAL`, `SYNC_OUTDATED_AFTER`, `LOG_FORMAT`,
//! `SHUTDOWN_TIMEOUT`), and how long start-up waits for Postgres and NATS (`STARTUP_TIMEOUT`).

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

/// The shortest watch interval.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct RuntimeConfig {
    /// `None` = scheduler off.
    pub sync_schedule: Option<cron::Schedule>,
    /// `WATCH_INTERVAL` (`None` = off): the default every company is watched at.
    pub watch_interval: Option<Duration>,
    pub sync_outdated_after: Duration,
    /// `RETENTION`: sessions, errors, deliveries, audit entries and superseded versions older
    /// than this are deleted.
    pub retention: Duration,
    pub log_format: Option<LogFormat>,
    pub shutdown_timeout: Duration,
    /// How long start-up waits for Postgres and NATS before it gives up.
    pub startup_timeout: Duration,
}

pub(super) fn parse(v: &Values<'_>) -> Result<RuntimeConfig, ConfigError> {
    let sync_schedule = match v.text("SYNC_SCHEDULE").unwrap_or("0 0 */6 * * *") {
        "off" => None,
        expr => Some(
            cron::Schedule::from_str(expr)
                .map_err(|e| bad("SYNC_SCHEDULE", format!("not a cron expression with seconds ({e})")))?,
        ),
    };
    let watch_interval = match v.text("WATCH_INTERVAL").unwrap_or("5m") {
        "off" => None,
        _ => match v.duration("WATCH_INTERVAL", "5m")? {
            d if d.is_zero() => None,
            d if d < MIN_WATCH_INTERVAL => return Err(bad("WATCH_INTERVAL", "must be at least 1s (or off)")),
            d => Some(d),
        },
    };
    let log_format = match v.text("LOG_FORMAT") {
        None => None,
        Some("json") => Some(LogFormat::Json),
        Some("pretty") => Some(LogFormat::Pretty),
        Some(_) => return Err(bad("LOG_FORMAT", "must be `json` or `pretty`")),
    };
    Ok(RuntimeConfig {
        sync_schedule,
        watch_interval,
        sync_outdated_after: v.duration("SYNC_OUTDATED_AFTER", "6h")?,
        retention: v.duration("RETENTION", "400d")?,
        log_format,
        shutdown_timeout: v.duration("SHUTDOWN_TIMEOUT", "30s")?,
        startup_timeout: v.duration("STARTUP_TIMEOUT", "60s")?,
    })
}
