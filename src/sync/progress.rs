//! Stage progress: events on `<p>.sync.progress.<session>` and the stage row in Postgres,
//! at stage start, at least every 10 items or 500 ms, and at stage end (items stored together,
//! like a listed page, are reported together).

use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use uuid::Uuid;

use super::ProgressEvent;
use crate::{
    bus::Bus,
    db::{Db, sessions},
};

const EVERY_ITEMS: i64 = 10;
const EVERY: Duration = Duration::from_millis(500);

/// A progress event on the wire.
fn payload(session: Uuid, stage: &str, status: &str, processed: i64, total: i64) -> Bytes {
    let event = ProgressEvent {
        session_id: session,
        stage: stage.to_string(),
        status: status.to_string(),
        processed,
        total,
        at: Utc::now(),
    };
    Bytes::from(serde_json::to_vec(&event).expect("progress serializes"))
}

/// Publish a running-stage event without waiting for JetStream's acknowledgement (it is
/// still stored by the stream, and ordered on the connection before the awaited stage end).
async fn emit_running(bus: &Bus, session: Uuid, stage: &str, processed: i64, total: i64) {
    let payload = payload(session, stage, "running", processed, total);
    if let Err(e) = bus.client.publish(bus.progress_subject(session), payload).await {
        tracing::debug!(%session, stage, error = %e, "progress event dropped");
    }
}

/// Publish one progress event. Progress is advisory: a NATS hiccup is logged, never fatal.
pub async fn emit(bus: &Bus, session: Uuid, stage: &str, status: &str, processed: i64, total: i64) {
    let payload = payload(session, stage, status, processed, total);
    if let Err(e) = bus.publish_durable(bus.progress_subject(session), None, payload).await {
        tracing::warn!(%session, stage, error = %e, "could not publish a progress event");
    }
}

/// Tracks one running stage and reports it at the right cadence.
pub struct StageProgress<'a> {
    db: &'a Db,
    bus: &'a Bus,
    session: Uuid,
    stage: &'static str,
    pub processed: i64,
    pub total: i64,
    last_items: i64,
    last_at: Instant,
}

impl<'a> StageProgress<'a> {
    /// Marks the stage running (row and event).
    pub async fn start(db: &'a Db, bus: &'a Bus, session: Uuid, stage: &'static str, total: i64) -> sqlx::Result<Self> {
        sessions::stage_started(db, session, stage, total as i32).await?;
        emit(bus, session, stage, "running", 0, total).await;
        Ok(StageProgress { db, bus, session, stage, processed: 0, total, last_items: 0, last_at: Instant::now() })
    }

    pub fn set_total(&mut self, total: i64) {
        self.total = total;
    }

    /// Count `n` more items done; reports when 10 items or 500 ms have passed since the last report.
    pub async fn advance(&mut self, n: i64) -> sqlx::Result<()> {
        self.processed += n;
        if self.processed - self.last_items >= EVERY_ITEMS || self.last_at.elapsed() >= EVERY {
            self.report().await?;
        }
        Ok(())
    }

    async fn report(&mut self) -> sqlx::Result<()> {
        self.last_items = self.processed;
        // The row is for readers polling the API: every 500 ms is plenty and keeps the stage off
        // the database; events go out every 10 items.
        if self.last_at.elapsed() >= EVERY {
            sessions::stage_progress(self.db, self.session, self.stage, self.processed as i32, self.total as i32)
                .await?;
            self.last_at = Instant::now();
        }
        emit_running(self.bus, self.session, self.stage, self.processed, self.total).await;
        Ok(())
    }

    /// Stage end: the row (with the session count) is committed, then the event is sent.
    pub async fn finish(self, status: &str, count: i64) -> sqlx::Result<()> {
        sessions::stage_finished(
            self.db,
            self.session,
            self.stage,
            status,
            self.processed as i32,
            self.total as i32,
            count as i32,
        )
        .await?;
        emit(self.bus, self.session, self.stage, status, self.processed, self.total).await;
        Ok(())
    }
}
