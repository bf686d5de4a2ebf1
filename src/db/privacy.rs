//! The digest key's row and the rewrite of employee versions stored before minimisation.

use serde_json::Value;
use uuid::Uuid;

use super::Db;

/// The stored digest key: sealed under `SECRETS_KEY`, or plain while it is unset.
#[derive(Debug)]
pub struct DigestKeyRow {
    pub sealed: Option<Vec<u8>>,
    pub plain: Option<Vec<u8>>,
}

pub async fn digest_key(db: &Db) -> sqlx::Result<Option<DigestKeyRow>> {
    sqlx::query_as!(DigestKeyRow, "SELECT sealed, plain FROM digest_key WHERE id = 1").fetch_optional(db).await
}

/// Store the first digest key; `false` when another replica stored one first (read that one).
pub async fn create_digest_key(db: &Db, sealed: Option<&[u8]>, plain: Option<&[u8]>) -> sqlx::Result<bool> {
    Ok(sqlx::query!(
        "INSERT INTO digest_key (id, sealed, plain) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
        sealed,
        plain
    )
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

/// Seal the stored key anew (a `SECRETS_KEY` set or rotated); no plain copy stays.
pub async fn reseal_digest_key(db: &Db, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE digest_key SET sealed = $1, plain = NULL WHERE id = 1", sealed).execute(db).await?;
    Ok(())
}

/// A version row still holding the record as Employes sent it.
#[derive(Debug)]
pub struct RawVersion {
    pub employee_id: Uuid,
    pub version: i32,
    pub data: Value,
}

/// Rewrite up to `limit` raw version rows with what `minimise` makes of them, in one
/// transaction: their data, content hash and marker, and the employee's snapshot hash when it is
/// the current version (so the next sync stores no new version for an unchanged record). Rows
/// another replica is rewriting are skipped. Returns how many were rewritten (0 = none left).
pub async fn minimise_batch(db: &Db, limit: i64, minimise: impl Fn(&Value) -> (Value, Vec<u8>)) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query_as!(
        RawVersion,
        r#"SELECT employee_id, version, data FROM employee_versions WHERE NOT minimised
           ORDER BY employee_id, version LIMIT $1 FOR UPDATE SKIP LOCKED"#,
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let (mut ids, mut versions, mut data, mut hashes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        let (minimised, hash) = minimise(&row.data);
        ids.push(row.employee_id);
        versions.push(row.version);
        data.push(minimised);
        hashes.push(hash);
    }
    sqlx::query!(
        r#"WITH input AS (
               SELECT * FROM UNNEST($1::uuid[], $2::int4[], $3::jsonb[], $4::bytea[]) AS t(id, version, data, hash)
           ), rewritten AS (
               UPDATE employee_versions v SET data = i.data, content_hash = i.hash, minimised = true
               FROM input i WHERE v.employee_id = i.id AND v.version = i.version
               RETURNING v.employee_id, v.version, v.content_hash
           )
           UPDATE employees e SET snapshot_hash = r.content_hash
           FROM rewritten r WHERE e.id = r.employee_id AND e.snapshot_version = r.version"#,
        &ids,
        &versions,
        &data,
        &hashes as &[Vec<u8>],
    )
    .execute(&mut *tx)
    .await?;
    let name = "minimise_employee_versions";
    sqlx::query!(
        r#"INSERT INTO data_migrations (name, rows_done) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET rows_done = data_migrations.rows_done + EXCLUDED.rows_done"#,
        name,
        rows.len() as i64
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Record that a data migration found nothing left to do.
pub async fn data_migration_done(db: &Db, name: &str) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO data_migrations (name, done_at) VALUES ($1, now())
           ON CONFLICT (name) DO UPDATE SET done_at = now()"#,
        name
    )
    .execute(db)
    .await?;
    Ok(())
}
