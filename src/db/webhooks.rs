//! The webhook delivery log: every delivery, accepted or not, without its body.

use uuid::Uuid;

use super::Db;

#[derive(Debug, Clone, Default)]
pub struct Delivery<'a> {
    pub webhook_id: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub employee_id: Option<Uuid>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub session_id: Option<Uuid>,
}

/// Record a delivery. For `accepted`/`ignored`, `false` means that webhook id was already
/// accepted: the caller answers "duplicate".
pub async fn record(db: &Db, d: &Delivery<'_>) -> sqlx::Result<bool> {
    let rows = sqlx::query!(
        r#"INSERT INTO webhook_deliveries (webhook_id, event_type, employee_id, outcome, reason, session_id)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING"#,
        d.webhook_id,
        d.event_type,
        d.employee_id,
        d.outcome,
        d.reason,
        d.session_id,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(rows == 1)
}

pub async fn already_accepted(db: &Db, webhook_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE webhook_id = $1 AND outcome IN ('accepted', 'ignored')) AS "x!""#,
        webhook_id
    )
    .fetch_one(db)
    .await
}
