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
    #[serde(serialize_with = "rfc3339")]
    pub requested_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

/// RFC 3339 with nanoseconds, as chrono writes it, but formatted in one piece: chrono's
/// `Serialize` writes character by character and was a tenth of the webhook intake's own work.
/// Outside humantime's range (before 1970, after 9999) chrono formats it.
fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    if (1970..=9999).contains(&chrono::Datelike::year(at)) {
        serializer.collect_str(&humantime::format_rfc3339_nanos(std::time::SystemTime::from(*at)))
    } else {
        at.serialize(serializer)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request_at(at: DateTime<Utc>) -> SyncRequestMsg {
        SyncRequestMsg {
            request_id: "msg_1".into(),
            session_id: Uuid::nil(),
            source: "webhook".into(),
            triggered_by: "employes".into(),
            employee_ids: Some(vec![Uuid::from_u128(7)]),
            requested_at: at,
            event_type: Some("employee.updated".into()),
        }
    }

    #[test]
    fn requested_at_round_trips_to_the_nanosecond_in_and_out_of_the_fast_range() {
        let times = [
            "2026-11-25T22:11:24.792151123Z",
            "2026-11-25T22:11:24Z",
            "1970-01-01T00:00:00.000000001Z",
            "1969-12-31T23:59:59.5Z",
            "9999-12-31T23:59:59.999999999Z",
            "0001-01-01T00:00:00Z",
        ];
        for t in times {
            let msg = request_at(t.parse().unwrap());
            let json = serde_json::to_string(&msg).unwrap();
            assert_eq!(serde_json::from_str::<SyncRequestMsg>(&json).unwrap(), msg, "{json}");
        }
        let json = serde_json::to_value(request_at("2026-11-25T22:11:24.5Z".parse().unwrap())).unwrap();
        assert_eq!(json["requested_at"], "2026-11-25T22:11:24.500000000Z");
    }
}
