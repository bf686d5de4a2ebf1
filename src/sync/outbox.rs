//! Change notifications: each recorded change is published once as a CloudEvent on
//! `<p>.changes.<company_id>.<change_type>` with `Nats-Msg-Id` = change id, then marked. A crash
//! between the two republishes within the stream's dedup window, so subscribers see it once.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bus::Bus,
    db::{
        Db,
        changes::{self, ChangeRow, ChangeView},
    },
};

/// One change as a CloudEvent 1.0 in JSON (structured mode): what `<p>.changes.…` carries.
/// `docs/asyncapi.yaml` describes it from this type (see `asyncapi`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeEvent<'a> {
    pub specversion: SpecVersion,
    /// The change id (also the message's `Nats-Msg-Id`): the same on every redelivery.
    pub id: Uuid,
    /// `/employes-sync/companies/<company_id>`.
    pub source: &'a str,
    /// `nl.employes.<change_type>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The employee the change is about.
    pub subject: Uuid,
    /// When the change was detected.
    pub time: DateTime<Utc>,
    pub datacontenttype: DataContentType,
    /// The change, as `GET /api/changes` shows it.
    pub data: ChangeView,
}

/// `specversion`: CloudEvents 1.0.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum SpecVersion {
    #[serde(rename = "1.0")]
    V1_0,
}

/// `datacontenttype`: `data` is JSON.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum DataContentType {
    #[serde(rename = "application/json")]
    Json,
}

/// The CloudEvent for one change (`data` is the change as the API shows it).
pub fn cloud_event<'a>(source: &'a str, c: &ChangeRow) -> ChangeEvent<'a> {
    ChangeEvent {
        specversion: SpecVersion::V1_0,
        id: c.id,
        source,
        event_type: format!("nl.employes.{}", c.change_type),
        subject: c.employee_id,
        time: c.detected_at,
        datacontenttype: DataContentType::Json,
        data: ChangeView::from(c.clone()),
    }
}

/// Publish unpublished changes (of one session, or all older than `min_age`). Returns how many.
pub async fn publish_pending(db: &Db, bus: &Bus, session: Option<Uuid>, min_age: Duration) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let batch = changes::unpublished(db, session, min_age.as_secs_f64(), 500).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        let mut done = Vec::with_capacity(batch.len());
        for c in &batch {
            let source = crate::companies::event_source(c.company_id);
            let payload = Bytes::from(serde_json::to_vec(&cloud_event(&source, c))?);
            let id = c.id.to_string();
            let subject = bus.change_subject(c.company_id, c.change_type);
            if let Err(e) = bus.publish_durable(subject, Some(&id), payload).await {
                changes::mark_published(db, &done).await?;
                return Err(anyhow::anyhow!("publishing change events: {e}"));
            }
            done.push(c.id);
            metrics::counter!("employes_sync_changes_published_total", "type" => c.change_type.as_str(),
                              "company" => c.company_id.to_string())
            .increment(1);
        }
        changes::mark_published(db, &done).await?;
        total += done.len();
    }
}

/// Background sweep for changes a crashed worker left unpublished.
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
        match publish_pending(&db, &bus, None, every * 2).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "outbox published changes left behind"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "outbox sweep failed; will retry"),
        }
    }
}
