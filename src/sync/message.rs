//! Messages on the wire (contract: NATS section).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `<p>.sync.requests`: one request to run (or join) a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyncRequestMsg {
    pub request_id: String,
    pub session_id: Uuid,
    pub source: String,
    pub triggered_by: String,
    pub employee_ids: Option<Vec<Uuid>>,
    pub requested_at: DateTime<Utc>,
}

/// `<p>.sync.progress.<session_id>`; the last one of a session has `stage == "session"`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ProgressEvent {
    pub session_id: Uuid,
    pub stage: String,
    pub status: String,
    pub processed: i64,
    pub total: i64,
    pub at: DateTime<Utc>,
}

impl ProgressEvent {
    pub fn is_final(&self) -> bool {
        self.stage == "session"
    }
}
