//! Registered endpoints (outbound webhooks) and the log of their delivery attempts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use sqlx::PgExecutor;

use super::Db;
use crate::domain::AttemptStatus;

/// An endpoint as the API shows it (never its secrets).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    /// Only this company's events; `null` = every company's.
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
    /// Only these types; `null` = every type.
    #[schema(required = true, value_type = Option<Vec<crate::endpoints::EventKind>>)]
    pub types: Option<Vec<String>>,
    #[schema(required = true)]
    pub description: Option<String>,
    pub enabled: bool,
    /// Why it was disabled (`null` while enabled).
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint's sealed secrets: the current one, and during a rotation's overlap the previous.
#[derive(Clone)]
pub struct SealedSecrets {
    pub secret: Vec<u8>,
    pub previous: Option<(Vec<u8>, DateTime<Utc>)>,
}

pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub url: &'a str,
    pub company_id: Option<Uuid>,
    pub types: Option<&'a [String]>,
    pub description: Option<&'a str>,
    pub secret: &'a [u8],
}

pub async fn insert(conn: impl PgExecutor<'_>, e: &NewEndpoint<'_>) -> sqlx::Result<EndpointRow> {
    sqlx::query_as!(
        EndpointRow,
        r#"INSERT INTO endpoints (id, url, company_id, types, description, secret_enc) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at"#,
        e.id,
        e.url,
        e.company_id,
        e.types,
        e.description,
        e.secret,
    )
    .fetch_one(conn)
    .await
}

/// Every endpoint (what the dispatchers serve), by id.
pub async fn all(db: &Db) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query_as!(
        EndpointRow,
        r#"SELECT id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at
           FROM endpoints ORDER BY id"#
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as!(
        EndpointRow,
        r#"SELECT id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at
           FROM endpoints WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
}

/// Endpoints by id, after `after` (keyset paging); `companies` `None` = all, else only endpoints
/// of those companies.
pub async fn list(
    db: &Db,
    companies: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query_as!(
        EndpointRow,
        r#"SELECT id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at
           FROM endpoints
           WHERE ($1::uuid[] IS NULL OR company_id = ANY($1)) AND ($2::uuid IS NULL OR id > $2)
           ORDER BY id LIMIT $3"#,
        companies,
        after,
        limit
    )
    .fetch_all(db)
    .await
}

/// What `PATCH` may change; `None` leaves a field as it is. `types: Some(None)` = every type.
#[derive(Debug, Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub types: Option<Option<Vec<String>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

pub async fn update(conn: impl PgExecutor<'_>, id: Uuid, p: &EndpointPatch) -> sqlx::Result<Option<EndpointRow>> {
    let (set_types, types) = match &p.types {
        Some(t) => (true, t.clone()),
        None => (false, None),
    };
    let (set_description, description) = match &p.description {
        Some(d) => (true, d.clone()),
        None => (false, None),
    };
    sqlx::query_as!(
        EndpointRow,
        r#"UPDATE endpoints SET
               url = coalesce($2, url),
               types = CASE WHEN $3 THEN $4 ELSE types END,
               description = CASE WHEN $5 THEN $6 ELSE description END,
               enabled = coalesce($7, enabled),
               disabled_reason = CASE WHEN coalesce($7, enabled) THEN NULL ELSE coalesce(disabled_reason, 'disabled by an admin') END,
               failing_since = CASE WHEN $7 AND NOT enabled THEN NULL ELSE failing_since END,
               updated_at = now()
           WHERE id = $1
           RETURNING id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at"#,
        id,
        p.url,
        set_types,
        types.as_deref(),
        set_description,
        description,
        p.enabled,
    )
    .fetch_optional(conn)
    .await
}

/// Delete an endpoint; returns it as it was (`None`: unknown).
pub async fn delete(conn: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as!(
        EndpointRow,
        r#"DELETE FROM endpoints WHERE id = $1
           RETURNING id, url, company_id, types, description, enabled, disabled_reason, created_at, updated_at"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn secrets(db: &Db, id: Uuid) -> sqlx::Result<Option<SealedSecrets>> {
    let row = sqlx::query!("SELECT secret_enc, previous_secret_enc, previous_until FROM endpoints WHERE id = $1", id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| SealedSecrets {
        secret: r.secret_enc,
        previous: r.previous_secret_enc.zip(r.previous_until).filter(|(_, until)| *until > Utc::now()),
    }))
}

/// A new secret; the current one keeps signing until `previous_until`.
pub async fn rotate(
    conn: impl PgExecutor<'_>,
    id: Uuid,
    secret: &[u8],
    previous_until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        r#"UPDATE endpoints SET previous_secret_enc = secret_enc, previous_until = $3, secret_enc = $2, updated_at = now()
           WHERE id = $1"#,
        id,
        secret,
        previous_until
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Disable an enabled endpoint; `false` when it was not enabled (or is gone).
pub async fn disable(db: impl PgExecutor<'_>, id: Uuid, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE endpoints SET enabled = false, disabled_reason = $2, updated_at = now() WHERE id = $1 AND enabled",
        id,
        reason
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A failed attempt: returns since when every attempt has failed (this one, if it is the first).
pub async fn failed(db: &Db, id: Uuid) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        r#"UPDATE endpoints SET failing_since = coalesce(failing_since, now()) WHERE id = $1
           RETURNING failing_since AS "failing_since!""#,
        id
    )
    .fetch_optional(db)
    .await
}

/// A delivered event: the endpoint is not failing.
pub async fn succeeded(db: &Db, id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("UPDATE endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL", id)
        .execute(db)
        .await?;
    Ok(())
}

/// One delivery attempt as the attempts log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttemptRow {
    #[serde(skip)]
    pub id: i64,
    pub event_id: Uuid,
    /// The event's type as `types` names it (`salary_change`, `milestone.notice_due`, …).
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub status: AttemptStatus,
    /// The receiver's HTTP status (`null`: no answer).
    #[schema(required = true)]
    pub response_status: Option<i32>,
    /// Why it failed, when it did.
    #[schema(required = true)]
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    /// When it is tried again (`pending` only).
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

pub struct NewAttempt<'a> {
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub attempt: i32,
    pub status: AttemptStatus,
    pub response_status: Option<i32>,
    pub error: Option<&'a str>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

pub async fn record_attempt(db: &Db, a: &NewAttempt<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        r#"INSERT INTO endpoint_attempts (endpoint_id, event_id, event_type, attempt, status, response_status, error,
                                          next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        a.endpoint_id,
        a.event_id,
        a.event_type,
        a.attempt,
        a.status as AttemptStatus,
        a.response_status,
        a.error,
        a.next_attempt_at,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Several attempts in one statement (the dispatcher's batched attempts log).
pub async fn record_attempts(db: &Db, attempts: &[NewAttempt<'_>]) -> sqlx::Result<()> {
    let endpoints: Vec<Uuid> = attempts.iter().map(|a| a.endpoint_id).collect();
    let events: Vec<Uuid> = attempts.iter().map(|a| a.event_id).collect();
    let types: Vec<&str> = attempts.iter().map(|a| a.event_type).collect();
    let numbers: Vec<i32> = attempts.iter().map(|a| a.attempt).collect();
    let statuses: Vec<&str> = attempts.iter().map(|a| a.status.as_str()).collect();
    let responses: Vec<Option<i32>> = attempts.iter().map(|a| a.response_status).collect();
    let errors: Vec<Option<&str>> = attempts.iter().map(|a| a.error).collect();
    let next: Vec<Option<DateTime<Utc>>> = attempts.iter().map(|a| a.next_attempt_at).collect();
    sqlx::query!(
        r#"INSERT INTO endpoint_attempts (endpoint_id, event_id, event_type, attempt, status, response_status, error,
                                          next_attempt_at)
           SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::int4[], $5::text[], $6::int4[], $7::text[],
                                $8::timestamptz[])"#,
        &endpoints,
        &events,
        &types as &[&str],
        &numbers,
        &statuses as &[&str],
        &responses as &[Option<i32>],
        &errors as &[Option<&str>],
        &next as &[Option<DateTime<Utc>>],
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An endpoint's attempts, newest first, before the attempt `before` (keyset paging).
pub async fn attempts(
    db: &Db,
    endpoint: Uuid,
    status: Option<AttemptStatus>,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as!(
        AttemptRow,
        r#"SELECT id, event_id, event_type, attempt, status AS "status: AttemptStatus", response_status, error, at,
                  next_attempt_at
           FROM endpoint_attempts
           WHERE endpoint_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::int8 IS NULL OR id < $3)
           ORDER BY id DESC LIMIT $4"#,
        endpoint,
        status as Option<AttemptStatus>,
        before,
        limit
    )
    .fetch_all(db)
    .await
}
