//! Requesting a sync: one function for every trigger (API, webhook, scheduler, CLI).

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use uuid::Uuid;

use super::SyncRequestMsg;
use crate::{
    bus::{Bus, BusError},
    db::{Db, sessions},
};

/// Largest targeted sync; bigger requests should be full syncs.
pub const MAX_EMPLOYEE_IDS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    Scheduler,
    Api,
    Webhook,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Scheduler => "scheduler",
            Source::Api => "api",
            Source::Webhook => "webhook",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SyncRequest {
    pub source: Source,
    pub triggered_by: String,
    /// `None` = full sync.
    pub employee_ids: Option<Vec<Uuid>>,
    pub idempotency_key: Option<String>,
    /// The `Nats-Msg-Id` (webhook id, schedule slot…). A request that carries one is always
    /// written to JetStream, even when it joins an existing session.
    pub msg_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Requested {
    pub session_id: Uuid,
    pub status: String,
    pub coalesced: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the sync queue is unavailable: {0}")]
    Unavailable(#[from] BusError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<RequestError> for crate::error::AppError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Unavailable(e) => {
                crate::error::AppError::Unavailable(format!("the sync queue is unavailable ({e})"))
            }
            RequestError::Database(e) => crate::error::AppError::Database(e),
        }
    }
}

/// Create (or join) a session and put its request on the durable queue.
///
/// A full request joins the full sync that is queued or running (`coalesced`); a targeted
/// request joins a queued session from the same source requested within `window`. A new
/// session whose request JetStream does not acknowledge is marked `failed` at once.
#[tracing::instrument(skip_all, fields(source = req.source.as_str(), targeted = req.employee_ids.is_some()))]
pub async fn request_sync(db: &Db, bus: &Bus, window: Duration, req: &SyncRequest) -> Result<Requested, RequestError> {
    if let Some(key) = &req.idempotency_key {
        if let Some(s) = sessions::find_by_idempotency_key(db, key).await? {
            return Ok(Requested { session_id: s.id, status: s.status, coalesced: true });
        }
    }
    if let Some(ids) = &req.employee_ids {
        if let Some(s) = sessions::coalesce_targeted(db, req.source.as_str(), ids, window, MAX_EMPLOYEE_IDS).await? {
            return join(bus, req, s).await;
        }
    }
    // Racing requests can see the active session finish between the insert and the lookup.
    for _ in 0..5 {
        let id = Uuid::new_v4();
        let request_id = req.msg_id.clone().unwrap_or_else(|| id.to_string());
        let new = sessions::NewSession {
            id,
            source: req.source.as_str(),
            triggered_by: &req.triggered_by,
            employee_ids: req.employee_ids.as_deref(),
            idempotency_key: req.idempotency_key.as_deref(),
            request_id: &request_id,
        };
        if sessions::insert(db, &new).await?.is_some() {
            let msg = message(req, id, &request_id);
            if let Err(e) = publish_new(bus, &msg).await {
                sessions::fail_queued(db, id, &format!("the sync request could not be queued: {e}")).await?;
                return Err(e.into());
            }
            tracing::info!(session_id = %id, "sync requested");
            return Ok(Requested { session_id: id, status: "queued".into(), coalesced: false });
        }
        if let Some(key) = &req.idempotency_key {
            if let Some(s) = sessions::find_by_idempotency_key(db, key).await? {
                return Ok(Requested { session_id: s.id, status: s.status, coalesced: true });
            }
        }
        if let Some(s) = sessions::active_full(db).await? {
            if req.employee_ids.is_none() {
                return join(bus, req, s).await;
            }
        }
    }
    Err(RequestError::Database(sqlx::Error::Protocol("could not create or join a session".into())))
}

async fn join(bus: &Bus, req: &SyncRequest, s: sessions::SessionRow) -> Result<Requested, RequestError> {
    if let Some(msg_id) = &req.msg_id {
        enqueue(bus, &message(req, s.id, msg_id), msg_id).await?;
    }
    tracing::info!(session_id = %s.id, "sync request joined an existing session");
    Ok(Requested { session_id: s.id, status: s.status, coalesced: true })
}

fn message(req: &SyncRequest, session_id: Uuid, request_id: &str) -> SyncRequestMsg {
    SyncRequestMsg {
        request_id: request_id.to_string(),
        session_id,
        source: req.source.as_str().to_string(),
        triggered_by: req.triggered_by.clone(),
        employee_ids: req.employee_ids.clone(),
        requested_at: Utc::now(),
        event_type: None,
    }
}

/// Queue a new session's request. If JetStream already holds a message with this request id
/// (an earlier attempt whose acknowledgement was lost, so its session was failed, or a
/// concurrent delivery), that message points at another session: this one is queued again
/// under its own id, or it would stay `queued` with nothing to run it.
async fn publish_new(bus: &Bus, msg: &SyncRequestMsg) -> Result<(), BusError> {
    if enqueue(bus, msg, &msg.request_id).await? {
        enqueue(bus, msg, &msg.session_id.to_string()).await?;
    }
    Ok(())
}

/// Put a request message on the sync queue with `Nats-Msg-Id` = `msg_id`; `true` when
/// JetStream saw it as a duplicate.
pub async fn enqueue(bus: &Bus, msg: &SyncRequestMsg, msg_id: &str) -> Result<bool, BusError> {
    let payload = Bytes::from(serde_json::to_vec(msg).expect("request message serializes"));
    bus.publish_durable(bus.requests_subject(), Some(msg_id), payload).await
}
