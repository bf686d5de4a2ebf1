//! Milestone notifications: each recorded event is published once as a CloudEvent on
//! `<p>.milestones.<company_id>.<kind>` with `Nats-Msg-Id` = event id, then marked. A crash
//! between the two republishes within the stream's dedup window, so subscribers see it once.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    bus::{Bus, Outgoing},
    db::{
        Db,
        milestones::{
            events::{self, PendingEvent},
            views::MilestoneView,
        },
    },
    domain::milestones::MilestoneReason,
    events::{CloudEvent, Sequence},
};

/// One milestone event as a CloudEvent 1.0 in JSON (structured mode), with the v2 extension
/// attributes: what `<p>.milestones.…` carries. `docs/asyncapi.yaml` describes it (see `asyncapi`).
pub type MilestoneEvent = CloudEvent<MilestoneEventData>;

/// `data`: the milestone as it was when the event was recorded, and why the event was sent.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MilestoneEventData {
    #[serde(flatten)]
    pub milestone: MilestoneView,
    pub reason: MilestoneReason,
    /// Reminders only: how many days before `due_date` this reminder is (`MILESTONE_REMINDERS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before: Option<u32>,
}

/// The CloudEvent for one recorded event: `type` `nl.employes.milestone.<kind>`, `time` when it
/// was recorded, its sequence and baseline flag as recorded.
pub fn cloud_event(e: &PendingEvent) -> anyhow::Result<MilestoneEvent> {
    let milestone: MilestoneView = serde_json::from_value(e.milestone.clone())?;
    let kind: &'static str = e.kind.into();
    let data = MilestoneEventData {
        milestone,
        reason: e.reason,
        days_before: e.days_before.and_then(|d| u32::try_from(d).ok()),
    };
    Ok(CloudEvent::new(
        e.id,
        format!("nl.employes.milestone.{kind}"),
        e.company_id,
        e.employee_id,
        e.created_at,
        Sequence(e.sequence),
        e.baseline,
        data,
    ))
}

/// Publish recorded events (of one company, or of all) at least `min_age` old, in the order they
/// were recorded. Returns how many.
pub async fn publish_pending(db: &Db, bus: &Bus, company: Option<Uuid>, min_age: Duration) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let batch = events::unpublished(db, company, min_age.as_secs_f64(), 500).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        let sent = bus
            .send_batch(
                &batch,
                |e| -> anyhow::Result<Outgoing> {
                    Ok(Outgoing {
                        subject: bus.milestone_subject(e.company_id, e.kind),
                        msg_id: e.id.to_string(),
                        payload: Bytes::from(serde_json::to_vec(&cloud_event(e)?)?),
                    })
                },
                async |e| {
                    // Published, not marked yet.
                    crate::failpoint::pause(crate::failpoint::Failpoint::MilestoneEventPublished).await;
                    let kind: &'static str = e.kind.into();
                    let reason: &'static str = e.reason.into();
                    metrics::counter!("employes_sync_milestone_events_published_total", "kind" => kind,
                                      "reason" => reason, "company" => e.company_id.to_string())
                    .increment(1);
                },
            )
            .await?;
        let done: Vec<Uuid> = sent.stored.iter().map(|e| e.id).collect();
        events::mark_published(db, &done).await?;
        if let Some(err) = sent.failed {
            return Err(anyhow::anyhow!("publishing milestone events: {err}"));
        }
        total += done.len();
    }
}

/// Publish now what was just recorded for `company` (only its own: sessions of many companies
/// ending together would otherwise each send every other's events too); what is left behind,
/// when NATS is away, the sweeper (`sync::outbox::run_sweeper`) publishes later.
pub async fn publish_now(db: &Db, bus: &Bus, company: Uuid) {
    if let Err(e) = publish_pending(db, bus, Some(company), Duration::ZERO).await {
        tracing::warn!(error = format!("{e:#}"), "milestone events not published yet; the outbox will retry");
    }
}
