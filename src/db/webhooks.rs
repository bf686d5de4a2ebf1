//! The webhook delivery log: every delivery, accepted or not, without its body.

use uuid::Uuid;

use super::Db;
use crate::domain::WebhookOutcome;

#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// `None` for a delivery that names no known company (a rejection, mostly).
    pub company_id: Option<Uuid>,
    pub webhook_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub employee_id: Option<Uuid>,
    pub outcome: WebhookOutcome,
    pub reason: Option<&'a str>,
    pub session_id: Option<Uuid>,
}

impl Delivery<'_> {
    /// A delivery with this outcome and nothing else known yet.
    pub fn new(outcome: WebhookOutcome) -> Self {
        Delivery {
            company_id: None,
            webhook_id: None,
            event_type: None,
            employee_id: None,
            outcome,
            reason: None,
            session_id: None,
        }
    }
}

/// Record a delivery. For `accepted`/`ignored`, `false` means that webhook id was already
/// accepted or ignored: the caller answers "duplicate".
pub async fn record(db: &Db, d: &Delivery<'_>) -> sqlx::Result<bool> {
    let rows = sqlx::query!(
        r#"INSERT INTO webhook_deliveries (webhook_id, event_type, employee_id, outcome, reason, session_id, company_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT DO NOTHING"#,
        d.webhook_id,
        d.event_type,
        d.employee_id,
        d.outcome.as_str(),
        d.reason,
        d.session_id,
        d.company_id,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

/// Where the admission of a queued webhook event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Recorded as accepted just now (or an earlier attempt stopped before a session was
    /// linked): join or open a session.
    Open,
    /// Already admitted into this session (or recorded as ignored): nothing left to do.
    Done(Option<Uuid>),
}

/// Record an accepted delivery before its session exists; tells whether it still needs one.
pub async fn begin_admission(db: &Db, d: &Delivery<'_>) -> sqlx::Result<Admission> {
    if record(db, d).await? {
        return Ok(Admission::Open);
    }
    let earlier = sqlx::query!(
        r#"SELECT outcome AS "outcome: WebhookOutcome", session_id FROM webhook_deliveries
           WHERE webhook_id = $1 AND outcome IN ('accepted', 'ignored')"#,
        d.webhook_id
    )
    .fetch_optional(db)
    .await?;
    Ok(match earlier {
        Some(e) if e.outcome == WebhookOutcome::Accepted && e.session_id.is_none() => Admission::Open,
        Some(e) => Admission::Done(e.session_id),
        None => Admission::Open,
    })
}

/// Link an admitted delivery to the session that carries it.
pub async fn link_session(db: &Db, webhook_id: &str, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE webhook_deliveries SET session_id = $2 WHERE webhook_id = $1 AND outcome = 'accepted'",
        webhook_id,
        session
    )
    .execute(db)
    .await?;
    Ok(())
}
