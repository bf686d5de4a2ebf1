//! Tasks given up on: published to `<p>.sync.dead` (stream `<P>_DEAD`, kept 30 days) with the
//! reason and the attempts made, and counted in `employes_sync_dead_letters_total`, instead of
//! being redelivered forever.

use async_nats::jetstream;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::bus::{Bus, BusError};

/// Why a task was given up on (the metric's `cause` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Cause {
    /// Its session was claimed `WORKER_MAX_DELIVER` times without ending.
    AttemptsExhausted,
    /// The message is not a task.
    Unparseable,
    /// It points at a session or company that does not exist.
    Unknown,
}

/// `{"task","reason","cause","attempts","company_id","session_id","at"}` on `<p>.sync.dead`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// The task as it was queued: its JSON, or its text when it is not JSON.
    pub task: serde_json::Value,
    /// Why it was given up, in words.
    pub reason: String,
    pub cause: Cause,
    /// Claims of its session, or deliveries of an unusable message.
    #[schema(minimum = 1)]
    pub attempts: i64,
    /// Its company, when known.
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
    /// Its session, when it names one.
    #[schema(required = true)]
    pub session_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl DeadLetter {
    /// A dead letter for `msg` (its payload kept as JSON when it is JSON).
    pub fn of(msg: &jetstream::Message, cause: Cause, reason: impl Into<String>, attempts: i64) -> DeadLetter {
        let task = serde_json::from_slice(&msg.payload)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&msg.payload).into_owned()));
        DeadLetter { task, reason: reason.into(), cause, attempts, company_id: None, session_id: None, at: Utc::now() }
    }

    /// Publish it (once per session, or per queue message, within the stream's duplicate window)
    /// and count it.
    pub async fn publish(&self, bus: &Bus, msg: &jetstream::Message) -> Result<(), BusError> {
        let id = match (self.session_id, msg.info()) {
            (Some(session), _) => format!("dead-{session}"),
            (None, Ok(info)) => format!("dead-seq-{}", info.stream_sequence),
            (None, Err(_)) => format!("dead-{}", Uuid::new_v4()),
        };
        let payload = Bytes::from(serde_json::to_vec(self).expect("a dead letter serializes"));
        bus.publish_durable(bus.dead_letter_subject(), Some(&id), payload).await?;
        let company = self.company_id.map_or_else(|| "unknown".to_string(), |c| c.to_string());
        let cause: &'static str = self.cause.into();
        metrics::counter!("employes_sync_dead_letters_total", "cause" => cause, "company" => company).increment(1);
        tracing::error!(cause, reason = %self.reason, attempts = self.attempts, session_id = ?self.session_id,
                        "sync task given up and sent to the dead-letter subject");
        Ok(())
    }
}
