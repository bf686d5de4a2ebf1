//! The built-in scheduler: a full sync per cron slot. Every replica runs it; the slot row in
//! Postgres (and the slot as the task's `Nats-Msg-Id`) make each slot produce exactly one
//! queue task.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::{
    bus::Bus,
    db::{Db, sessions},
    domain::Source,
    sync::{SyncTrigger, request_sync},
};

/// Fire at each upcoming slot of `schedule` until cancelled.
pub async fn run(db: Db, bus: Bus, schedule: cron::Schedule, window: Duration, cancel: CancellationToken) {
    tracing::info!("scheduler started");
    loop {
        let Some(slot) = schedule.upcoming(Utc).next() else {
            return;
        };
        let wait = (slot - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = fire(&db, &bus, slot, window).await {
            tracing::warn!(%slot, error = %e, "scheduled sync could not be requested");
        }
    }
}

/// Claim the slot; the winner requests the sync (joining one already running, if any).
pub async fn fire(db: &Db, bus: &Bus, slot: DateTime<Utc>, window: Duration) -> anyhow::Result<bool> {
    if !sessions::claim_slot(db, slot).await? {
        return Ok(false);
    }
    let trigger = SyncTrigger {
        source: Source::Scheduler,
        triggered_by: "system".into(),
        employee_ids: None,
        idempotency_key: None,
        dedup_id: Some(format!("schedule-{}", slot.timestamp())),
    };
    let requested = request_sync(db, bus, window, &trigger).await?;
    sessions::set_slot_session(db, slot, requested.session_id).await?;
    tracing::info!(%slot, session_id = %requested.session_id, coalesced = requested.coalesced, "scheduled sync requested");
    Ok(true)
}
