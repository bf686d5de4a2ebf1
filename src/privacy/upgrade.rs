//! The data migration to minimised employee versions, run by [`crate::db::migrate`] right after
//! the schema migrations (SQL cannot compute the digests: the key is the application's). Each
//! batch rewrites its rows, marks them (`employee_versions.minimised`) and counts them in
//! `data_migrations` in one transaction, so an interrupted start resumes with the rows left, a
//! repeat finds nothing to do, and two replicas starting together share the rows (`SKIP
//! LOCKED`). Rows an older replica writes during a rolling upgrade are rewritten at the next
//! start.

use crate::{
    db::{Db, employees::content_hash, privacy},
    domain::minimise::{DigestKey, minimise},
};

/// Rows rewritten per transaction.
const BATCH: i64 = 500;
const NAME: &str = "minimise_employee_versions";

/// Rewrite every version row stored before minimisation; returns how many.
#[tracing::instrument(skip_all)]
pub async fn minimise_stored_versions(db: &Db, key: &DigestKey) -> sqlx::Result<u64> {
    let mut total = 0u64;
    loop {
        let done = privacy::minimise_batch(db, BATCH, |data| {
            let minimised = minimise(data, key);
            let hash = content_hash(&minimised);
            (minimised, hash)
        })
        .await?;
        if done == 0 {
            break;
        }
        total += done as u64;
    }
    if total > 0 {
        tracing::info!(rows = total, "employee versions rewritten without personal values");
    }
    privacy::data_migration_done(db, NAME).await?;
    Ok(total)
}
