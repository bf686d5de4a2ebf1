//! Scheduler slots: each cron slot is claimed once across all replicas.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;

/// Claim a scheduler slot once across all replicas; `true` for the winner.
pub async fn claim_slot(db: &Db, slot: DateTime<Utc>) -> sqlx::Result<bool> {
    let rows = sqlx::query!("INSERT INTO schedule_slots (slot) VALUES ($1) ON CONFLICT DO NOTHING", slot)
        .execute(db)
        .await?
        .rows_affected();
    Ok(rows == 1)
}

/// Link a claimed slot to the session it requested (or joined).
pub async fn set_slot_session(db: &Db, slot: DateTime<Utc>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE schedule_slots SET session_id = $2 WHERE slot = $1", slot, session).execute(db).await?;
    Ok(())
}
