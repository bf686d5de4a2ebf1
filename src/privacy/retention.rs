//! Storage limitation: every day (or every `RETENTION`, when that is shorter) one replica —
//! whichever claims the slot first — deletes what is older than `RETENTION` (see
//! [`crate::db::retention::prune`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::db::{Db, retention};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// How often the prune runs: daily, or every `retention` when that is shorter.
pub fn period(retention: Duration) -> Duration {
    retention.min(DAY).max(Duration::from_secs(1))
}

/// The slot `now` falls in: the start of its period since the epoch.
fn slot(now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let p = period.as_millis().max(1) as i64;
    DateTime::from_timestamp_millis(now.timestamp_millis().div_euclid(p) * p).unwrap_or(now)
}

/// Prune once per slot until cancelled.
pub async fn run(db: Db, retention: Duration, cancel: CancellationToken) {
    let period = period(retention);
    let mut tick = tokio::time::interval((period / 4).clamp(Duration::from_millis(250), Duration::from_secs(300)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let Ok(keep) = chrono::Duration::from_std(retention) else { return };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        match retention::claim_slot(&db, slot(now, period)).await {
            Ok(false) => {}
            Ok(true) => match retention::prune(&db, now - keep).await {
                Ok(p) => tracing::info!(
                    sessions = p.sessions,
                    errors = p.errors,
                    webhook_deliveries = p.webhook_deliveries,
                    endpoint_attempts = p.endpoint_attempts,
                    audit_entries = p.audit_entries,
                    versions = p.versions,
                    "retention prune done"
                ),
                Err(e) => tracing::warn!(error = %e, "retention prune failed; the next slot tries again"),
            },
            Err(e) => tracing::warn!(error = %e, "could not claim the retention slot"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prune_runs_daily_or_every_retention_when_shorter_in_slots_every_replica_computes_alike() {
        assert_eq!(period(Duration::from_secs(400 * 24 * 3600)), DAY);
        assert_eq!(period(Duration::from_secs(3)), Duration::from_secs(3));
        let at = DateTime::parse_from_rfc3339("2026-12-01T13:45:12.345Z").unwrap().with_timezone(&Utc);
        assert_eq!(slot(at, DAY).to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(slot(at, Duration::from_secs(3)).to_rfc3339(), "2026-12-01T13:45:12+00:00");
    }
}
