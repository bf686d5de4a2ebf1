//! Every value stored sealed under `SECRETS_KEY` — companies' API keys and webhook secrets,
//! endpoints' signing secrets, the personal-data digest key — read locked and written back, for a
//! rotation of `SECRETS_KEY` in one transaction.

use sqlx::PgConnection;
use uuid::Uuid;

/// A company's sealed values.
#[derive(Debug)]
pub struct SealedCompany {
    pub id: Uuid,
    pub api_key_enc: Option<Vec<u8>>,
    pub webhook_secrets_enc: Option<Vec<u8>>,
}

/// An endpoint's sealed secrets (the previous one while its overlap lasts).
#[derive(Debug)]
pub struct SealedEndpoint {
    pub id: Uuid,
    pub secret_enc: Vec<u8>,
    pub previous_secret_enc: Option<Vec<u8>>,
}

/// Every sealed value, locked until the transaction ends.
#[derive(Debug)]
pub struct Sealed {
    pub companies: Vec<SealedCompany>,
    pub endpoints: Vec<SealedEndpoint>,
    /// The digest key, when it is stored sealed.
    pub digest_key: Option<Vec<u8>>,
}

/// Lock and read every sealed value (always in this order, so concurrent rotations queue).
pub async fn lock_all(conn: &mut PgConnection) -> sqlx::Result<Sealed> {
    let companies = sqlx::query_as!(
        SealedCompany,
        r#"SELECT id, api_key_enc, webhook_secrets_enc FROM companies
           WHERE api_key_enc IS NOT NULL OR webhook_secrets_enc IS NOT NULL
           ORDER BY id FOR UPDATE"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let endpoints = sqlx::query_as!(
        SealedEndpoint,
        "SELECT id, secret_enc, previous_secret_enc FROM endpoints ORDER BY id FOR UPDATE"
    )
    .fetch_all(&mut *conn)
    .await?;
    let digest_key = sqlx::query_scalar!("SELECT sealed FROM digest_key WHERE id = 1 FOR UPDATE")
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    Ok(Sealed { companies, endpoints, digest_key })
}

pub async fn store_company(conn: &mut PgConnection, c: &SealedCompany) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE companies SET api_key_enc = $2, webhook_secrets_enc = $3 WHERE id = $1",
        c.id,
        c.api_key_enc,
        c.webhook_secrets_enc
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_endpoint(conn: &mut PgConnection, e: &SealedEndpoint) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE endpoints SET secret_enc = $2, previous_secret_enc = $3 WHERE id = $1",
        e.id,
        e.secret_enc,
        e.previous_secret_enc
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn store_digest_key(conn: &mut PgConnection, sealed: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("UPDATE digest_key SET sealed = $1 WHERE id = 1", sealed).execute(conn).await?;
    Ok(())
}
