//! Change notifications: each recorded change is published once as a CloudEvent on
//! `<p>.changes.<company_id>.<change_type>` with `Nats-Msg-Id` = change id, then marked. A crash
//! between the two republishes within the stream's dedup window, so subscribers see it once.

use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bus::{Bus, Outgoing},
    db::{
        Db,
        changes::{self, ChangeRow, ChangeView},
    },
    events::{CloudEvent, Sequence},
};

/// One change as a CloudEvent 1.0 in JSON (structured mode): what `<p>.changes.…` carries, with
/// `data` = the change as `GET /api/changes` shows it. `docs/asyncapi.yaml` describes it (see
/// `asyncapi`).
pub type ChangeEvent = CloudEvent<ChangeView>;

/// The CloudEvent for one change: `type` `nl.employes.<change_type>`, `time` when it was detected,
/// its sequence and baseline flag as recorded.
pub fn cloud_event(c: &ChangeRow) -> ChangeEvent {
    CloudEvent::new(
        c.id,
        format!("nl.employes.{}", c.change_type),
        c.company_id,
        c.employee_id,
        c.detected_at,
        Sequence(c.sequence),
        c.baseline,
        ChangeView::from(c.clone()),
    )
}

/// Publish unpublished changes (of one session, or all older than `min_age`). Returns how many.
pub async fn publish_pending(db: &Db, bus: &Bus, session: Option<Uuid>, min_age: Duration) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let batch = changes::unpublished(db, session, min_age.as_secs_f64(), 500).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        let sent = bus
            .send_batch(
                &batch,
                |c| -> anyhow::Result<Outgoing> {
                    Ok(Outgoing {
                        subject: bus.change_subject(c.company_id, c.change_type),
                        msg_id: c.id.to_string(),
                        payload: Bytes::from(serde_json::to_vec(&cloud_event(c))?),
                    })
                },
                async |c| {
                    metrics::counter!("employes_sync_changes_published_total", "type" => c.change_type.as_str(),
                                      "company" => c.company_id.to_string())
                    .increment(1);
                },
            )
            .await?;
        let done: Vec<Uuid> = sent.stored.iter().map(|c| c.id).collect();
        changes::mark_published(db, &done).await?;
        if let Some(err) = sent.failed {
            return Err(anyhow::anyhow!("publishing change events: {err}"));
        }
        total += done.len();
    }
}

/// Background sweep for events left unpublished (a worker died between commit and publish, or
/// NATS was away): changes, `employee_erased` and milestone events, every `every`, on every
/// worker replica (`Nats-Msg-Id` keeps a race between two replicas from publishing twice).
pub async fn run_sweeper(db: Db, bus: Bus, every: Duration, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Ok(n) = changes::count_unpublished(&db).await {
            metrics::gauge!("employes_sync_outbox_pending").set(n as f64);
        }
        if let Ok(n) = crate::db::milestones::events::count_unpublished(&db).await {
            metrics::gauge!("employes_sync_milestone_outbox_pending").set(n as f64);
        }
        swept("change events", publish_pending(&db, &bus, None, every * 2).await);
        swept("employee_erased events", crate::privacy::erasure::publish_pending(&db, &bus).await);
        swept("milestone events", super::milestones::outbox::publish_pending(&db, &bus, None, every * 2).await);
    }
}

fn swept(what: &'static str, published: anyhow::Result<usize>) {
    match published {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, what, "outbox published events left behind"),
        Err(e) => tracing::warn!(error = format!("{e:#}"), what, "outbox sweep failed; will retry"),
    }
}
