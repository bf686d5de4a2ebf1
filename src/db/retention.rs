//! Retention: what is older than `RETENTION` goes, once per slot across replicas.

use chrono::{DateTime, Utc};

use super::Db;

/// Claim the retention job's slot; `true` for the one replica that gets it.
pub async fn claim_slot(db: &Db, slot: DateTime<Utc>) -> sqlx::Result<bool> {
    Ok(sqlx::query!("INSERT INTO maintenance_slots (job, slot) VALUES ('retention', $1) ON CONFLICT DO NOTHING", slot)
        .execute(db)
        .await?
        .rows_affected()
        == 1)
}

/// How many rows of each kind one prune deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub sessions: u64,
    pub errors: u64,
    pub webhook_deliveries: u64,
    pub endpoint_attempts: u64,
    pub audit_entries: u64,
    pub versions: u64,
    pub slots: u64,
}

/// Delete what ended before `cutoff`, in one transaction: ended sessions (their stages and
/// errors with them) but each company's latest completed full sync (what tells the next sync it
/// is not the baseline), errors, webhook deliveries, endpoint delivery attempts, audit entries, record and employment
/// versions superseded before it (never a current one: those have no `valid_to`; nor one a
/// session still has to diff against), and
/// maintenance slots. Changes are kept until their employee is erased.
pub async fn prune(db: &Db, cutoff: DateTime<Utc>) -> sqlx::Result<Pruned> {
    let mut tx = db.begin().await?;
    let sessions = sqlx::query!(
        r#"DELETE FROM sync_sessions s
           WHERE s.status IN ('completed', 'completed_with_errors', 'failed')
             AND coalesce(s.completed_at, s.requested_at) < $1
             AND s.id NOT IN (SELECT DISTINCT ON (company_id) id FROM sync_sessions
                              WHERE scope = 'full' AND status IN ('completed', 'completed_with_errors')
                              ORDER BY company_id, requested_at DESC)"#,
        cutoff
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let errors =
        sqlx::query!("DELETE FROM sync_errors WHERE occurred_at < $1", cutoff).execute(&mut *tx).await?.rows_affected();
    let webhook_deliveries = sqlx::query!("DELETE FROM webhook_deliveries WHERE received_at < $1", cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let endpoint_attempts =
        sqlx::query!("DELETE FROM endpoint_attempts WHERE at < $1", cutoff).execute(&mut *tx).await?.rows_affected();
    let audit_entries =
        sqlx::query!("DELETE FROM audit_entries WHERE at < $1", cutoff).execute(&mut *tx).await?.rows_affected();
    // A superseded record version a session has not diffed yet stays until it has.
    let records = sqlx::query!(
        r#"DELETE FROM employee_versions v WHERE v.valid_to < $1
           AND NOT EXISTS (SELECT 1 FROM employee_versions n JOIN sync_sessions s ON s.id = n.session_id
                           WHERE n.employee_id = v.employee_id AND n.version = v.version + 1
                             AND (s.status IN ('queued', 'running') OR (s.status = 'failed' AND s.diffed_by IS NULL)))"#,
        cutoff
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let histories = sqlx::query!("DELETE FROM employment_versions WHERE valid_to < $1", cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let slots =
        sqlx::query!("DELETE FROM maintenance_slots WHERE slot < $1", cutoff).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(Pruned {
        sessions,
        errors,
        webhook_deliveries,
        endpoint_attempts,
        audit_entries,
        versions: records + histories,
        slots,
    })
}
