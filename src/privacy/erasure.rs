//! Erasing an employee: every stored row about them deleted and a tombstone kept, in one
//! transaction with its audit entry; then the `employee_erased` CloudEvent on
//! `<p>.changes.<company_id>.employee_erased` (`Nats-Msg-Id` = its id), published from the
//! tombstone as from an outbox: at once, and by the outbox sweep if that failed.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    bus::Bus,
    companies::ChangedBy,
    db::{
        Db,
        audit::{self, AuditEntry},
        erasure::{self, Tombstone},
    },
    domain::AuditAction,
    events::{self, CloudEvent, EventStream, Sequence},
};

/// Why an employee was not erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("no such employee")]
    Unknown,
    #[error("the employee is still employed: only an employee who is out of service or no longer listed can be erased")]
    StillEmployed,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Erase employee `id` if `visible(company)` (else it is as unknown), then publish the event. An
/// employee erased before is answered with their tombstone (idempotent: nothing happens again).
#[tracing::instrument(skip_all, fields(employee_id = %id))]
pub async fn erase(
    db: &Db,
    bus: &Bus,
    id: Uuid,
    visible: impl Fn(Uuid) -> bool,
    by: ChangedBy,
) -> Result<Tombstone, EraseError> {
    let mut tx = db.begin().await?;
    let Some(employee) = erasure::lock_employee(&mut tx, id).await?.filter(|e| visible(e.company_id)) else {
        // Erased already: the same answer again (a retried request), with no new event or entry.
        let done = erasure::tombstone(&mut tx, id).await?.filter(|t| visible(t.company_id));
        return done.ok_or(EraseError::Unknown);
    };
    if employee.still_employed() {
        return Err(EraseError::StillEmployed);
    }
    let sequence = events::next_sequence(&mut tx, employee.company_id, id, EventStream::Changes).await?;
    let tombstone = erasure::erase(&mut tx, employee.company_id, id, sequence).await?;
    let entry = AuditEntry {
        actor: by.actor,
        role: by.role,
        action: AuditAction::EmployeeErased,
        company_id: Some(employee.company_id),
        target: Some(id.to_string()),
        request_id: by.request_id,
    };
    audit::record(&mut tx, entry).await?;
    tx.commit().await?;
    tracing::info!(company_id = %tombstone.company_id, "employee erased");
    if let Err(e) = publish_pending(db, bus).await {
        tracing::warn!(error = format!("{e:#}"), "the employee_erased event waits for the outbox sweep");
    }
    Ok(tombstone)
}

/// The `data` of the `employee_erased` CloudEvent: ids and a time, no personal data.
#[derive(Debug, Serialize)]
pub struct ErasedData {
    pub employee_id: Uuid,
    pub company_id: Uuid,
    pub erased_at: DateTime<Utc>,
}

pub const EVENT_TYPE: &str = "nl.employes.employee_erased";

/// Publish every erasure whose event is not on the stream yet; returns how many.
pub async fn publish_pending(db: &Db, bus: &Bus) -> anyhow::Result<usize> {
    let pending = erasure::unpublished(db, 500).await?;
    let mut done = Vec::with_capacity(pending.len());
    for t in &pending {
        let data = ErasedData { employee_id: t.employee_id, company_id: t.company_id, erased_at: t.erased_at };
        let event = CloudEvent::new(
            t.event_id,
            EVENT_TYPE.to_string(),
            t.company_id,
            t.employee_id,
            t.erased_at,
            Sequence(t.sequence),
            false,
            data,
        );
        let payload = Bytes::from(serde_json::to_vec(&event)?);
        if let Err(e) =
            bus.publish_durable(bus.erased_subject(t.company_id), Some(&t.event_id.to_string()), payload).await
        {
            erasure::mark_published(db, &done).await?;
            return Err(anyhow::anyhow!("publishing employee_erased events: {e}"));
        }
        done.push(t.event_id);
    }
    erasure::mark_published(db, &done).await?;
    Ok(done.len())
}
