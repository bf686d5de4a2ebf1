//! From a trigger to a queued session, in two steps: [`open`] finds or makes the session
//! (Postgres only), [`enqueue`] puts the trigger's [`RunSession`] task on the queue. The API,
//! the scheduler and the CLI call both through [`request_sync`]; the worker's webhook admission
//! calls them itself.

use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use super::{QueueTask, RunSession};
use crate::{
    bus::{Bus, BusError},
    db::{
        Db,
        audit::{self, AuditEntry},
        sessions::{self, SessionRow},
    },
    domain::{AuditAction, Role, SessionStatus, Source},
};

/// Largest targeted sync; bigger requests should be full syncs.
pub const MAX_EMPLOYEE_IDS: usize = 500;

/// What a trigger (a webhook event, an API call, the scheduler, the CLI) asks for.
#[derive(Debug, Clone)]
pub struct SyncTrigger {
    /// The company to sync.
    pub company_id: Uuid,
    pub source: Source,
    pub triggered_by: String,
    /// `None` = full sync.
    pub employee_ids: Option<Vec<Uuid>>,
    /// The `Idempotency-Key` of `POST /api/sync`, scoped to company and caller
    /// (`<company>:<caller>:<key>`, see [`idempotency_key`]): a repeat gets the same session.
    pub idempotency_key: Option<String>,
    /// The `Nats-Msg-Id` of this trigger's task (idempotency key, schedule slot). A trigger with
    /// one always puts its task on the queue, even when it joins a session, so JetStream drops a
    /// repeat within its duplicate window.
    pub dedup_id: Option<String>,
}

impl SyncTrigger {
    /// A full sync the service asks for itself (`triggered_by` `system`: the scheduler's or the
    /// watch's slot), whose task is sent once per `dedup_id`.
    pub fn system(company_id: Uuid, source: Source, dedup_id: String) -> SyncTrigger {
        SyncTrigger {
            company_id,
            source,
            triggered_by: "system".into(),
            employee_ids: None,
            idempotency_key: None,
            dedup_id: Some(dedup_id),
        }
    }
}

/// What `POST /api/sync` answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Requested {
    pub session_id: Uuid,
    pub status: SessionStatus,
    pub coalesced: bool,
}

/// How a trigger got its session.
#[derive(Debug, Clone)]
pub enum Opened {
    /// A new queued session; its task is not on the queue yet.
    New(SessionRow),
    /// A queued (or, for a full sync, running) session that now carries this trigger too.
    Joined(SessionRow),
    /// The session an earlier trigger with the same idempotency key got.
    Repeated(SessionRow),
}

impl Opened {
    pub fn session(&self) -> &SessionRow {
        match self {
            Opened::New(s) | Opened::Joined(s) | Opened::Repeated(s) => s,
        }
    }

    pub fn requested(&self) -> Requested {
        let s = self.session();
        Requested { session_id: s.id, status: s.status, coalesced: !matches!(self, Opened::New(_)) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("the sync queue is unavailable: {0}")]
    Unavailable(#[from] BusError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Open (or join) a session and put the trigger's task on the durable queue.
#[tracing::instrument(skip_all, fields(company = %trigger.company_id, source = trigger.source.as_str(), targeted = trigger.employee_ids.is_some()))]
pub async fn request_sync(
    db: &Db,
    bus: &Bus,
    window: Duration,
    trigger: &SyncTrigger,
) -> Result<Requested, TriggerError> {
    let opened = open(db, window, trigger).await?;
    enqueue(db, bus, trigger, &opened).await?;
    Ok(opened.requested())
}

/// Who asked for a sync, for the audit log: the caller's role and the HTTP request id.
#[derive(Debug, Clone)]
pub struct RequestedBy {
    pub role: Role,
    pub request_id: Option<String>,
}

/// [`request_sync`] for a person or a token (the API, the CLI): the session and its audit entry
/// (`sync_requested`, actor `triggered_by`, target the session id) are committed together. A
/// repeated `Idempotency-Key` is the same request, and is not recorded again.
pub async fn request_sync_audited(
    db: &Db,
    bus: &Bus,
    window: Duration,
    trigger: &SyncTrigger,
    by: &RequestedBy,
) -> Result<Requested, TriggerError> {
    let mut tx = db.begin().await?;
    let opened = open_in(&mut tx, window, trigger).await?;
    if !matches!(opened, Opened::Repeated(_)) {
        let entry = AuditEntry {
            actor: trigger.triggered_by.clone(),
            role: by.role,
            action: AuditAction::SyncRequested,
            company_id: Some(trigger.company_id),
            target: Some(opened.session().id.to_string()),
            request_id: by.request_id.clone(),
        };
        audit::record(&mut tx, entry).await?;
    }
    tx.commit().await?;
    enqueue(db, bus, trigger, &opened).await?;
    Ok(opened.requested())
}

/// How an `Idempotency-Key` is stored and used as a task id: per company and caller.
pub fn idempotency_key(company: Uuid, caller: &str, key: &str) -> String {
    format!("{company}:{caller}:{key}")
}

/// The session a trigger runs in. A repeated idempotency key gets its earlier session; a full
/// trigger joins the company's full sync that is queued or running; a targeted one joins a
/// queued session of the company from the same source requested within `window` (or its queued
/// full sync); otherwise a new one.
pub async fn open(db: &Db, window: Duration, trigger: &SyncTrigger) -> sqlx::Result<Opened> {
    open_in(&mut *db.acquire().await?, window, trigger).await
}

/// [`open`] on one connection (in the caller's transaction, when it holds one).
pub async fn open_in(db: &mut sqlx::PgConnection, window: Duration, trigger: &SyncTrigger) -> sqlx::Result<Opened> {
    if let Some(key) = &trigger.idempotency_key
        && let Some(s) = sessions::find_by_idempotency_key(&mut *db, key).await?
    {
        return Ok(Opened::Repeated(s));
    }
    if let Some(ids) = &trigger.employee_ids {
        let company = trigger.company_id;
        if let Some(s) =
            sessions::coalesce_targeted(&mut *db, company, trigger.source, ids, window, MAX_EMPLOYEE_IDS).await?
        {
            return Ok(Opened::Joined(s));
        }
    }
    // Racing triggers can see the active session finish between the insert and the lookup.
    for _ in 0..5 {
        let id = Uuid::new_v4();
        let request_id = trigger.dedup_id.clone().unwrap_or_else(|| id.to_string());
        let new = sessions::NewSession {
            id,
            company_id: trigger.company_id,
            source: trigger.source,
            triggered_by: &trigger.triggered_by,
            employee_ids: trigger.employee_ids.as_deref(),
            idempotency_key: trigger.idempotency_key.as_deref(),
            request_id: &request_id,
        };
        if let Some(s) = sessions::insert(&mut *db, &new).await? {
            return Ok(Opened::New(s));
        }
        if let Some(key) = &trigger.idempotency_key
            && let Some(s) = sessions::find_by_idempotency_key(&mut *db, key).await?
        {
            return Ok(Opened::Repeated(s));
        }
        if trigger.employee_ids.is_none()
            && let Some(s) = sessions::active_full(&mut *db, trigger.company_id).await?
        {
            return Ok(Opened::Joined(s));
        }
    }
    Err(sqlx::Error::Protocol("could not create or join a session".into()))
}

/// Queue the trigger's task for the session [`open`] gave it. A new session's task carries the
/// session's `request_id`; if JetStream already holds a task with that id (an earlier attempt
/// whose acknowledgement was lost, so its session was failed, or a concurrent delivery), that
/// task points at another session, so this one is queued again under the session id, or it
/// would stay `queued` with nothing to run it. A new session whose task is not acknowledged is
/// failed at once. A joining trigger queues a task only when it has a `dedup_id`.
pub async fn enqueue(db: &Db, bus: &Bus, trigger: &SyncTrigger, opened: &Opened) -> Result<(), TriggerError> {
    match opened {
        Opened::New(s) => {
            let task = run_session(trigger, s.id, &s.request_id);
            let company = trigger.company_id;
            let queued = match publish(bus, company, &task, &s.request_id).await {
                Ok(true) => publish(bus, company, &task, &s.id.to_string()).await.map(drop),
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = queued {
                sessions::fail_queued(db, s.id, &format!("the sync request could not be queued: {e}")).await?;
                return Err(e.into());
            }
            tracing::info!(session_id = %s.id, "sync requested");
        }
        Opened::Joined(s) => {
            if let Some(dedup_id) = &trigger.dedup_id {
                publish(bus, trigger.company_id, &run_session(trigger, s.id, dedup_id), dedup_id).await?;
            }
            tracing::info!(session_id = %s.id, "sync request joined an existing session");
        }
        Opened::Repeated(_) => {}
    }
    Ok(())
}

/// The one place a [`RunSession`] task is built.
fn run_session(trigger: &SyncTrigger, session_id: Uuid, request_id: &str) -> QueueTask {
    QueueTask::RunSession(RunSession {
        company_id: Some(trigger.company_id),
        request_id: request_id.to_string(),
        session_id,
        source: trigger.source,
        triggered_by: trigger.triggered_by.clone(),
        employee_ids: trigger.employee_ids.clone(),
        requested_at: Utc::now(),
    })
}

/// Put a task on the company's queue subject with `Nats-Msg-Id` = `msg_id`; `true` when
/// JetStream saw it as a duplicate (and did not store it again).
pub async fn publish(bus: &Bus, company: Uuid, task: &QueueTask, msg_id: &str) -> Result<bool, BusError> {
    bus.publish_durable(bus.requests_subject(company), Some(msg_id), task.to_payload()).await
}
