//! The sync worker: `WORKER_ACK_WAIT`, `WORKER_HEARTBEAT`, `WORKER_REAP_AFTER`,
//! `WORKER_MAX_DELIVER`, `WORKER_CONCURRENCY`, `WORKER_FINISH_CONCURRENCY`, `WORKER_FETCH_CONCURRENCY`,
//! `WEBHOOK_COALESCE_WINDOW`, `HISTORY_REFRESH_AFTER`.

use std::time::Duration;

use super::{
    ConfigError,
    values::{Values, bad},
};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// JetStream ack wait of the durable consumer.
    pub ack_wait: Duration,
    /// How often a running session heart-beats (and sends in-progress acks).
    pub heartbeat: Duration,
    /// A running session whose heartbeat is older than this may be taken over by another worker.
    pub takeover_after: Duration,
    /// A running session silent for this long is marked failed by the reaper.
    pub reap_after: Duration,
    /// Claims of one session (first run, resumes and take-overs) before it is given up as
    /// failed; 1 to 1000 (`WORKER_MAX_DELIVER`, clamped).
    pub max_attempts: i32,
    pub concurrency: usize,
    /// Sessions of one worker in their last phase at once (changes, milestones, their events):
    /// where a session holds its diff and evaluation in memory and uses the CPU. The others keep
    /// fetching meanwhile, or wait for their turn.
    pub finish_concurrency: usize,
    /// Employments fetched concurrently (all still under the client's rate limit).
    pub fetch_concurrency: usize,
    /// Targeted requests from one source within this window share a queued session.
    pub coalesce_window: Duration,
    /// A full sync fetches employments only for employees whose record changed, or whose
    /// history is older than this; zero = always every employee.
    pub history_refresh_after: Duration,
}

pub(super) fn parse(v: &Values<'_>) -> Result<WorkerConfig, ConfigError> {
    let heartbeat = v.duration("WORKER_HEARTBEAT", "5s")?;
    let concurrency = v.whole("WORKER_CONCURRENCY", 128usize)?;
    if concurrency == 0 {
        return Err(bad("WORKER_CONCURRENCY", "must be at least 1"));
    }
    let finish_concurrency = v.whole("WORKER_FINISH_CONCURRENCY", 16usize)?;
    if finish_concurrency == 0 {
        return Err(bad("WORKER_FINISH_CONCURRENCY", "must be at least 1"));
    }
    let fetch_concurrency = v.whole("WORKER_FETCH_CONCURRENCY", 8usize)?;
    if fetch_concurrency == 0 {
        return Err(bad("WORKER_FETCH_CONCURRENCY", "must be at least 1"));
    }
    Ok(WorkerConfig {
        ack_wait: v.duration("WORKER_ACK_WAIT", "30s")?,
        heartbeat,
        takeover_after: heartbeat * 3,
        reap_after: v.duration("WORKER_REAP_AFTER", "10m")?,
        max_attempts: v.whole("WORKER_MAX_DELIVER", 20i64)?.clamp(1, 1000) as i32,
        concurrency,
        finish_concurrency,
        fetch_concurrency,
        coalesce_window: v.duration("WEBHOOK_COALESCE_WINDOW", "2s")?,
        history_refresh_after: v.duration("HISTORY_REFRESH_AFTER", "24h")?,
    })
}
