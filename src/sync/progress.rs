//! A session's progress, written and read here only: each stage row in Postgres and each event
//! on `<p>.sync.progress.<session>` (at stage start, at least every 10 items or 500 ms, at stage
//! end; items stored together, like a listed page, are reported together), the session's final
//! status and its last event, and [`follow`] for readers (the CLI, the SSE route).
//!
//! Only a session's last event waits for JetStream's acknowledgement: the others are published
//! on the same connection before it, so the stream stores them in order and they are stored
//! once the last one is acknowledged; a stage's row is always committed before its event is
//! sent.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use bytes::Bytes;
use chrono::Utc;
use futures::{Stream, StreamExt};
use uuid::Uuid;

use super::{ProgressEvent, Step};
use crate::{
    bus::Bus,
    db::{
        Db,
        sessions::{self, SessionRow, StageEnd},
    },
    domain::{SessionStatus, Stage, StageStatus},
};

const EVERY_ITEMS: i64 = 10;
const EVERY: Duration = Duration::from_millis(500);

fn payload(event: &ProgressEvent) -> Bytes {
    Bytes::from(serde_json::to_vec(event).expect("a progress event serializes"))
}

/// Publish a stage event without waiting for JetStream's acknowledgement (it is still stored
/// by the stream, and ordered on the connection before the session's awaited last event).
async fn emit_unacked(bus: &Bus, event: &ProgressEvent) {
    if let Err(e) = bus.client.publish(bus.progress_subject(event.session_id), payload(event)).await {
        tracing::debug!(session = %event.session_id, stage = event.step.name(), error = %e, "progress event dropped");
    }
}

/// Publish one progress event and wait until it is stored. Progress is advisory: a NATS
/// hiccup is logged, never fatal.
async fn emit(bus: &Bus, event: &ProgressEvent) {
    if let Err(e) = bus.publish_durable(bus.progress_subject(event.session_id), None, payload(event)).await {
        tracing::warn!(session = %event.session_id, stage = event.step.name(), error = %e, "could not publish a progress event");
    }
}

/// Tracks one running stage and reports it at the right cadence.
pub struct StageProgress<'a> {
    db: &'a Db,
    bus: &'a Bus,
    session: Uuid,
    stage: Stage,
    pub processed: i64,
    pub total: i64,
    last_items: i64,
    last_at: Instant,
}

impl<'a> StageProgress<'a> {
    /// Marks the stage running (row and event).
    pub async fn start(db: &'a Db, bus: &'a Bus, session: Uuid, stage: Stage, total: i64) -> sqlx::Result<Self> {
        sessions::stage_started(db, session, stage, total as i32).await?;
        let progress =
            StageProgress { db, bus, session, stage, processed: 0, total, last_items: 0, last_at: Instant::now() };
        emit_unacked(bus, &progress.event(StageStatus::Running)).await;
        Ok(progress)
    }

    /// A stage with nothing to do: its start and end events, and its row closed at once
    /// (completed, nothing processed, a session count of 0) without being marked running first.
    pub async fn nothing_to_do(db: &'a Db, bus: &'a Bus, session: Uuid, stage: Stage) -> sqlx::Result<()> {
        let progress =
            StageProgress { db, bus, session, stage, processed: 0, total: 0, last_items: 0, last_at: Instant::now() };
        emit_unacked(bus, &progress.event(StageStatus::Running)).await;
        progress.finish(StageStatus::Completed, 0).await
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

    fn event(&self, status: StageStatus) -> ProgressEvent {
        ProgressEvent {
            session_id: self.session,
            step: Step::of(self.stage, status),
            processed: self.processed,
            total: self.total,
            at: Utc::now(),
        }
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
        emit_unacked(self.bus, &self.event(StageStatus::Running)).await;
        Ok(())
    }

    /// Stage end: the row (with the session count) is committed, then the event is sent.
    pub async fn finish(self, status: StageStatus, count: i64) -> sqlx::Result<()> {
        let end = StageEnd {
            stage: self.stage,
            status,
            processed: self.processed as i32,
            total: self.total as i32,
            count: count as i32,
        };
        sessions::stage_finished(self.db, self.session, &end).await?;
        emit_unacked(self.bus, &self.event(status)).await;
        Ok(())
    }
}

/// A stage stopped by a fatal error: its row is marked failed, then the event is sent.
pub async fn fail_stage(db: &Db, bus: &Bus, session: Uuid, stage: Stage) -> sqlx::Result<()> {
    let status = StageStatus::Failed;
    sessions::stage_finished(db, session, &StageEnd { stage, status, processed: 0, total: 0, count: 0 }).await?;
    let event =
        ProgressEvent { session_id: session, step: Step::of(stage, status), processed: 0, total: 0, at: Utc::now() };
    emit_unacked(bus, &event).await;
    Ok(())
}

/// End a session: its final status is committed. Returns the final row (the stored one, when
/// the session had already been ended elsewhere); [`announce_end`] then sends its last event.
pub async fn end_session(
    db: &Db,
    session: Uuid,
    status: SessionStatus,
    reason: Option<&str>,
) -> sqlx::Result<SessionRow> {
    match sessions::finish(db, session, status, reason).await? {
        Some(row) => Ok(row),
        None => sessions::get(db, session).await?.ok_or(sqlx::Error::RowNotFound),
    }
}

/// Send an ended session's last event, once everything its end implies is stored (its status,
/// its company's issues): a client that reads on that event reads the outcome.
pub async fn announce_end(bus: &Bus, row: &SessionRow) {
    emit(bus, &ProgressEvent::session_ended(row)).await;
}

/// How long a followed session may stay quiet before its row is looked at.
const QUIET: Duration = Duration::from_secs(2);

/// A session that ended longer ago than this would have delivered its last event by now.
const LAST_EVENT_DUE: chrono::TimeDelta = chrono::TimeDelta::seconds(3);

/// A session's progress: its events so far replayed from JetStream, then live ones, ending
/// after its last event. A session that ended long enough ago that its events expired gets its
/// last event made from its row.
pub async fn follow(
    bus: &Bus,
    db: &Db,
    session: Uuid,
) -> anyhow::Result<impl Stream<Item = ProgressEvent> + Send + use<>> {
    let stream = bus.js.get_stream(bus.progress_stream()).await.context("progress stream unavailable")?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: bus.progress_subject(session),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .context("cannot follow progress")?;
    let messages = consumer.messages().await.context("cannot follow progress")?;
    let db = db.clone();
    Ok(async_stream::stream! {
        let mut messages = Box::pin(messages);
        loop {
            match tokio::time::timeout(QUIET, messages.next()).await {
                Ok(Some(Ok(msg))) => {
                    let Ok(event) = serde_json::from_slice::<ProgressEvent>(&msg.payload) else {
                        tracing::debug!(%session, "skipping an unreadable progress event");
                        continue;
                    };
                    let last = event.is_final();
                    yield event;
                    if last {
                        break;
                    }
                }
                Ok(Some(Err(e))) => tracing::debug!(error = %e, "progress stream hiccup"),
                Ok(None) => break,
                Err(_) => {
                    if let Ok(Some(s)) = sessions::get(&db, session).await
                        && s.is_final()
                        && s.completed_at.is_none_or(|at| Utc::now() - at > LAST_EVENT_DUE)
                    {
                        yield ProgressEvent::session_ended(&s);
                        break;
                    }
                }
            }
        }
    })
}
