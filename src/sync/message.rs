//! Messages on the wire (contract: NATS section).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `<p>.sync.requests`: one request to run (or join) a session.
///
/// A verified webhook is put on the queue before any session exists (intake does no database
/// work): its `session_id` is nil, `request_id` is the `webhook-id` and `event_type` names the
/// event. The worker admits it (records the delivery, joins or creates a session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyncRequestMsg {
    pub request_id: String,
    pub session_id: Uuid,
    pub source: String,
    pub triggered_by: String,
    pub employee_ids: Option<Vec<Uuid>>,
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

impl SyncRequestMsg {
    /// A webhook event that no session carries yet.
    pub fn needs_admission(&self) -> bool {
        self.session_id.is_nil()
    }
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
