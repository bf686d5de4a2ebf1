//! The messages on NATS: [`QueueTask`]s on `<p>.sync.requests.<company_id>` and
//! [`ProgressEvent`]s on `<p>.sync.progress.<session_id>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use uuid::Uuid;

use crate::{
    db::sessions::SessionRow,
    domain::{SessionStatus, Source, Stage, StageStatus},
};

/// One task on the sync queue, tagged by `kind`.
///
/// A verified webhook is queued before any session exists (intake does no database work), as
/// [`QueueTask::AdmitWebhook`]; the worker admits it into a session, whose own
/// [`QueueTask::RunSession`] then runs it. Tasks of the first version (no `kind`; a nil
/// `session_id` for a webhook) are still read, so a queue filled before an upgrade drains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "kind", rename_all = "snake_case")]
pub enum QueueTask {
    AdmitWebhook(AdmitWebhook),
    RunSession(RunSession),
}

/// `{"kind":"admit_webhook","company_id","webhook_id","event_type","employee_ids","triggered_by","requested_at"}`:
/// record the delivery, then join or open a session for it.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct AdmitWebhook {
    /// The company the event is for (always sent); absent in tasks of the first version (= the
    /// v1 company).
    #[serde(default)]
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
    /// The `webhook-id` (also the task's `Nats-Msg-Id`).
    pub webhook_id: String,
    pub event_type: String,
    /// The event's employee for an employee event; `None` for a company-wide sync request.
    #[schema(required = true)]
    pub employee_ids: Option<Vec<Uuid>>,
    pub triggered_by: String,
    pub requested_at: DateTime<Utc>,
}

impl Serialize for AdmitWebhook {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut task = serializer.serialize_struct("AdmitWebhook", 9)?;
        task.serialize_field("company_id", &self.company_id)?;
        task.serialize_field("webhook_id", &self.webhook_id)?;
        task.serialize_field("event_type", &self.event_type)?;
        task.serialize_field("employee_ids", &self.employee_ids)?;
        task.serialize_field("triggered_by", &self.triggered_by)?;
        task.serialize_field("requested_at", &Rfc3339(&self.requested_at))?;
        // Transitional, for workers of the previous release during a rolling update: they read
        // a webhook as a first-version task (these three fields, a nil session id) and would
        // terminate it otherwise. Nothing here reads them; drop them one release later.
        task.serialize_field("request_id", &self.webhook_id)?;
        task.serialize_field("session_id", &Uuid::nil())?;
        task.serialize_field("source", &Source::Webhook)?;
        task.end()
    }
}

/// `{"kind":"run_session","company_id","request_id","session_id","source","triggered_by","employee_ids","requested_at"}`:
/// run (or resume) the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunSession {
    /// The session's company (always sent); absent in tasks of the first version (the session
    /// row says).
    #[serde(default)]
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
    /// This task's `Nats-Msg-Id`. Equal to the session's own `request_id` for the task that
    /// opened the session (it keeps the session alive until it ends); another value for a
    /// trigger that joined it.
    pub request_id: String,
    pub session_id: Uuid,
    pub source: Source,
    pub triggered_by: String,
    #[schema(required = true)]
    pub employee_ids: Option<Vec<Uuid>>,
    #[serde(serialize_with = "rfc3339")]
    pub requested_at: DateTime<Utc>,
}

impl Serialize for QueueTask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        QueueTask::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for QueueTask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let task = if value.get("kind").is_some() {
            QueueTask::deserialize(value)
        } else {
            V1Task::deserialize(value).and_then(QueueTask::try_from)
        };
        task.map_err(D::Error::custom)
    }
}

impl QueueTask {
    /// The task a queue message carries, or why it cannot be one.
    pub fn parse(payload: &[u8]) -> Result<QueueTask, String> {
        serde_json::from_slice(payload).map_err(|e| format!("unparseable sync task: {e}"))
    }

    pub fn to_payload(&self) -> bytes::Bytes {
        bytes::Bytes::from(serde_json::to_vec(self).expect("a queue task serializes"))
    }
}

/// The first version's task: a webhook (nil `session_id`, `request_id` = webhook id) or a session.
#[derive(Deserialize)]
struct V1Task {
    /// Not in the first version; the transitional webhook shape of this one carries it.
    #[serde(default)]
    company_id: Option<Uuid>,
    request_id: String,
    session_id: Uuid,
    source: Source,
    triggered_by: String,
    employee_ids: Option<Vec<Uuid>>,
    requested_at: DateTime<Utc>,
    #[serde(default)]
    event_type: Option<String>,
}

impl TryFrom<V1Task> for QueueTask {
    type Error = serde_json::Error;

    fn try_from(v1: V1Task) -> Result<QueueTask, serde_json::Error> {
        let V1Task { company_id, request_id, session_id, source, triggered_by, employee_ids, requested_at, event_type } =
            v1;
        Ok(if session_id.is_nil() {
            let event_type = event_type.ok_or_else(|| serde_json::Error::missing_field("event_type"))?;
            QueueTask::AdmitWebhook(AdmitWebhook {
                company_id,
                webhook_id: request_id,
                event_type,
                employee_ids,
                triggered_by,
                requested_at,
            })
        } else {
            QueueTask::RunSession(RunSession {
                company_id,
                request_id,
                session_id,
                source,
                triggered_by,
                employee_ids,
                requested_at,
            })
        })
    }
}

/// RFC 3339 with nanoseconds, as chrono writes it, formatted in one piece (chrono's `Serialize`
/// writes it piecewise). Outside humantime's range (before 1970, after 9999) chrono formats it.
fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    if (1970..=9999).contains(&chrono::Datelike::year(at)) {
        serializer.collect_str(&humantime::format_rfc3339_nanos(std::time::SystemTime::from(*at)))
    } else {
        at.serialize(serializer)
    }
}

/// A timestamp that serializes with [`rfc3339`].
struct Rfc3339<'a>(&'a DateTime<Utc>);

impl Serialize for Rfc3339<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        rfc3339(self.0, serializer)
    }
}

/// One progress event: `{"session_id","stage","status","processed","total","at"}`. The last
/// event of a session has `"stage":"session"` and the session's final status. Its schema is
/// written out in `message/schema.rs` (a derived one would be an `allOf` client generators refuse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub session_id: Uuid,
    #[serde(flatten)]
    pub step: Step,
    /// Items done in the stage; in the session's last event, employees processed.
    pub processed: i64,
    /// Items in the stage (as far as known); in the session's last event, changes detected.
    pub total: i64,
    pub at: DateTime<Utc>,
}

/// What an event reports on: a stage and its status, or the session and its final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", content = "status", rename_all = "snake_case")]
pub enum Step {
    Snapshot(StageStatus),
    History(StageStatus),
    Changes(StageStatus),
    Session(SessionStatus),
}

impl Step {
    pub fn of(stage: Stage, status: StageStatus) -> Step {
        match stage {
            Stage::Snapshot => Step::Snapshot(status),
            Stage::History => Step::History(status),
            Stage::Changes => Step::Changes(status),
        }
    }

    /// The stage, or `None` for the session's last event.
    pub fn stage(self) -> Option<Stage> {
        match self {
            Step::Snapshot(_) => Some(Stage::Snapshot),
            Step::History(_) => Some(Stage::History),
            Step::Changes(_) => Some(Stage::Changes),
            Step::Session(_) => None,
        }
    }

    /// The stage's name, or `session`.
    pub fn name(self) -> &'static str {
        self.stage().map_or("session", Stage::as_str)
    }
}

impl ProgressEvent {
    /// The session's last event, from its final row.
    pub fn session_ended(s: &SessionRow) -> ProgressEvent {
        ProgressEvent {
            session_id: s.id,
            step: Step::Session(s.status),
            processed: s.employees_processed.into(),
            total: s.changes_detected.into(),
            at: s.completed_at.unwrap_or_else(Utc::now),
        }
    }

    /// The final status, when this is the session's last event.
    pub fn final_status(&self) -> Option<SessionStatus> {
        match self.step {
            Step::Session(status) => Some(status),
            Step::Snapshot(_) | Step::History(_) | Step::Changes(_) => None,
        }
    }

    pub fn is_final(&self) -> bool {
        self.final_status().is_some()
    }
}

mod schema;
#[cfg(test)]
mod tests;
