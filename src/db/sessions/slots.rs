//! Scheduler and watch slots: each company's cron slot, and each of its watch slots, is claimed
//! once across all replicas.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Db;

/// A claim's outcome: this replica's insert (or update) is the one that took the slot.
fn won(claim: sqlx::postgres::PgQueryResult) -> sqlx::Result<bool> {
    Ok(claim.rows_affected() == 1)
}

/// Claim a company's scheduler slot once across all replicas; `true` for the winner.
pub async fn claim_slot(db: &Db, company: Uuid, slot: DateTime<Utc>) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        "INSERT INTO schedule_slots (company_id, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        company,
        slot
    );
    won(claimed.execute(db).await?)
}

/// Link a claimed slot to the session it requested (or joined).
pub async fn set_slot_session(db: &Db, company: Uuid, slot: DateTime<Utc>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE schedule_slots SET session_id = $3 WHERE company_id = $1 AND slot = $2",
        company,
        slot,
        session
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Claim a company's watch slot once across all replicas: the claim row moves forward to
/// `slot`, and only the replica whose update moved it wins. `false` when another replica took
/// this slot (or a later one) first.
pub async fn claim_watch_slot(db: &Db, company: Uuid, slot: DateTime<Utc>) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        "INSERT INTO watch_slots AS w (company_id, slot) VALUES ($1, $2)
         ON CONFLICT (company_id) DO UPDATE SET slot = EXCLUDED.slot, session_id = NULL, claimed_at = now()
         WHERE w.slot < EXCLUDED.slot",
        company,
        slot
    );
    won(claimed.execute(db).await?)
}

/// Link a claimed watch slot to the session it requested (or joined).
pub async fn set_watch_slot_session(db: &Db, company: Uuid, slot: DateTime<Utc>, session: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE watch_slots SET session_id = $3 WHERE company_id = $1 AND slot = $2", company, slot, session)
        .execute(db)
        .await?;
    Ok(())
}
