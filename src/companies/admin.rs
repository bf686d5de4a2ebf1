//! Writing companies: validated input, secrets sealed before they reach the database, each write
//! committed with its audit entry (`company_created`, `company_updated`, `company_deleted`: who,
//! in which role, under which request id; never a key or secret), and one announcement on
//! `<p>.control.companies` after each write so every replica reloads.
//!
//! The free functions need only the database (the `companies` CLI works without NATS); the
//! [`super::Registry`] methods of the same names call them, announce the change and reload.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{
    formats,
    secrets::{Field, SecretsKey, jwt_expiry},
};
use crate::{
    db::{
        Db,
        audit::{self, AuditEntry},
        companies::{self, CompanyPatchRow, NewCompanyRow},
    },
    domain::{AuditAction, Role},
    webhook_signature::WebhookKey,
};

/// Who changes a company, for its audit entry.
#[derive(Debug, Clone)]
pub struct ChangedBy {
    /// The sign-in name (a person's e-mail address) or the token's name.
    pub actor: String,
    pub role: Role,
    /// The `x-request-id` of the HTTP request, when there was one.
    pub request_id: Option<String>,
}

impl ChangedBy {
    /// The service itself (code that changes a company with no person behind it).
    pub fn service() -> ChangedBy {
        ChangedBy { actor: "employes-sync".to_string(), role: Role::Admin, request_id: None }
    }

    fn entry(&self, action: AuditAction, company: Uuid) -> AuditEntry {
        AuditEntry {
            actor: self.actor.clone(),
            role: self.role,
            action,
            company_id: Some(company),
            target: Some(company.to_string()),
            request_id: self.request_id.clone(),
        }
    }
}

/// A company to add. Unset settings follow the deployment's defaults.
#[derive(Debug, Clone, Default)]
pub struct NewCompany {
    pub id: Uuid,
    /// Default: `Company <first 8 characters of the id>`.
    pub name: Option<String>,
    pub api_key: Option<SecretString>,
    pub rate_limit: Option<u32>,
    pub schedule: Option<String>,
    pub watch_interval: Option<Duration>,
    pub history_refresh_after: Option<Duration>,
    /// `whsec_…` secrets webhooks for this company are verified with.
    pub webhook_secrets: Option<Vec<SecretString>>,
    pub chain_max_contracts: Option<u32>,
    pub chain_max_months: Option<u32>,
    pub chain_gap_months: Option<u32>,
}

/// A change to a company: `None` leaves a field alone; `Some(None)` clears a nullable one (back
/// to the deployment's default; for `api_key`, the environment's key or none).
#[derive(Debug, Clone, Default)]
pub struct CompanyPatch {
    pub name: Option<String>,
    pub api_key: Option<Option<SecretString>>,
    pub rate_limit: Option<Option<u32>>,
    pub schedule: Option<Option<String>>,
    pub watch_interval: Option<Option<Duration>>,
    pub history_refresh_after: Option<Option<Duration>>,
    pub webhook_secrets: Option<Option<Vec<SecretString>>>,
    pub chain_max_contracts: Option<u32>,
    pub chain_max_months: Option<u32>,
    pub chain_gap_months: Option<u32>,
}

/// Why a company write was refused. Messages name the field, never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum CompanyError {
    #[error("a company with this id exists")]
    Exists,
    #[error("no such company")]
    NotFound,
    #[error("SECRETS_KEY is not set, so keys and webhook secrets cannot be stored")]
    SecretsKeyMissing,
    #[error("{field}: {problem}")]
    Invalid { field: &'static str, problem: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn invalid(field: &'static str, problem: impl Into<String>) -> CompanyError {
    CompanyError::Invalid { field, problem: problem.into() }
}

fn check_name(name: &str) -> Result<String, CompanyError> {
    if !formats::is_name(name) {
        return Err(invalid("name", "must be 1-200 characters, not only blanks, without control characters"));
    }
    Ok(name.trim().to_string())
}

fn check_rate_limit(n: u32) -> Result<i32, CompanyError> {
    if !(1..=10_000).contains(&n) {
        return Err(invalid("rate_limit", "must be between 1 and 10000 requests per second"));
    }
    Ok(n as i32)
}

/// A cron expression with seconds, or `off` ([`formats::SCHEDULE_PATTERN`]).
pub fn check_schedule(schedule: &str) -> Result<String, CompanyError> {
    if !formats::is_schedule(schedule) {
        return Err(invalid(
            "schedule",
            "must be a cron expression with seconds (six fields, each * or a comma list of values, with \
             an optional /step; day of week 1-7 = Sunday-Saturday), or off",
        ));
    }
    Ok(schedule.to_string())
}

fn check_secs(field: &'static str, d: Duration) -> Result<i32, CompanyError> {
    i32::try_from(d.as_secs()).map_err(|_| invalid(field, "is too long"))
}

fn check_count(field: &'static str, n: u32, min: u32, max: u32) -> Result<i32, CompanyError> {
    if !(min..=max).contains(&n) {
        return Err(invalid(field, format!("must be between {min} and {max}")));
    }
    Ok(n as i32)
}

fn check_api_key(key: &SecretString) -> Result<(), CompanyError> {
    let k = key.expose_secret();
    if !formats::is_api_key(k) {
        return Err(invalid("api_key", "must be 1-4096 visible ASCII characters (no spaces)"));
    }
    Ok(())
}

fn sealer(secrets: Option<&SecretsKey>) -> Result<&SecretsKey, CompanyError> {
    secrets.ok_or(CompanyError::SecretsKeyMissing)
}

/// The sealed key and its expiry.
fn seal_key(
    secrets: Option<&SecretsKey>,
    id: Uuid,
    key: &SecretString,
) -> Result<(Vec<u8>, Option<chrono::DateTime<chrono::Utc>>), CompanyError> {
    check_api_key(key)?;
    Ok((sealer(secrets)?.seal_text(id, Field::ApiKey, key), jwt_expiry(key)))
}

/// The secrets, checked as `whsec_` keys, sealed as one JSON array.
fn seal_webhook_secrets(
    secrets: Option<&SecretsKey>,
    id: Uuid,
    list: &[SecretString],
) -> Result<Vec<u8>, CompanyError> {
    if list.is_empty() || list.len() > 10 {
        return Err(invalid("webhook_secrets", "give 1 to 10 whsec_ secrets"));
    }
    for s in list {
        WebhookKey::from_whsec(s.expose_secret()).map_err(|e| invalid("webhook_secrets", e.to_string()))?;
    }
    let texts: Vec<&str> = list.iter().map(|s| s.expose_secret()).collect();
    let json = secrecy::zeroize::Zeroizing::new(serde_json::to_vec(&texts).expect("strings serialize"));
    Ok(sealer(secrets)?.seal(id, Field::WebhookSecrets, &json))
}

/// Open a company's sealed webhook secrets as keys.
pub(super) fn open_webhook_secrets(
    secrets: &SecretsKey,
    id: Uuid,
    sealed: &[u8],
) -> Result<Vec<WebhookKey>, super::OpenError> {
    let json = secrecy::zeroize::Zeroizing::new(secrets.open(id, Field::WebhookSecrets, sealed)?);
    let texts: Vec<String> = serde_json::from_slice(&json).map_err(|_| super::OpenError)?;
    let keys = texts.iter().map(|t| WebhookKey::from_whsec(t)).collect::<Result<Vec<_>, _>>();
    keys.map_err(|_| super::OpenError)
}

/// Validate and store a new company, with its `company_created` entry.
pub async fn insert(db: &Db, secrets: Option<&SecretsKey>, c: &NewCompany, by: &ChangedBy) -> Result<(), CompanyError> {
    let (api_key_enc, api_key_expires_at) = match &c.api_key {
        Some(key) => {
            let (sealed, exp) = seal_key(secrets, c.id, key)?;
            (Some(sealed), exp)
        }
        None => (None, None),
    };
    let row = NewCompanyRow {
        id: c.id,
        name: match &c.name {
            Some(n) => check_name(n)?,
            None => format!("Company {}", &c.id.to_string()[..8]),
        },
        rate_limit: c.rate_limit.map(check_rate_limit).transpose()?,
        schedule: c.schedule.as_deref().map(check_schedule).transpose()?,
        watch_interval_secs: c.watch_interval.map(|d| check_secs("watch_interval", d)).transpose()?,
        history_refresh_after_secs: c
            .history_refresh_after
            .map(|d| check_secs("history_refresh_after", d))
            .transpose()?,
        chain_max_contracts: c
            .chain_max_contracts
            .map(|n| check_count("chain_max_contracts", n, 1, 100))
            .transpose()?,
        chain_max_months: c.chain_max_months.map(|n| check_count("chain_max_months", n, 1, 1200)).transpose()?,
        chain_gap_months: c.chain_gap_months.map(|n| check_count("chain_gap_months", n, 0, 120)).transpose()?,
        api_key_enc,
        api_key_expires_at,
        webhook_secrets_enc: c
            .webhook_secrets
            .as_deref()
            .map(|l| seal_webhook_secrets(secrets, c.id, l))
            .transpose()?,
    };
    let mut tx = db.begin().await?;
    if !companies::insert(&mut tx, &row).await? {
        return Err(CompanyError::Exists);
    }
    audit::record(&mut tx, by.entry(AuditAction::CompanyCreated, c.id)).await?;
    tx.commit().await?;
    Ok(())
}

/// Validate and apply a change (settings, key and secrets), everything validated before anything
/// is written, and written in one transaction with its `company_updated` entry.
pub async fn update(
    db: &Db,
    secrets: Option<&SecretsKey>,
    id: Uuid,
    p: &CompanyPatch,
    by: &ChangedBy,
) -> Result<(), CompanyError> {
    let key = match &p.api_key {
        Some(Some(key)) => Some(Some(seal_key(secrets, id, key)?)),
        Some(None) => Some(None),
        None => None,
    };
    let webhook = match &p.webhook_secrets {
        Some(Some(list)) => Some(Some(seal_webhook_secrets(secrets, id, list)?)),
        Some(None) => Some(None),
        None => None,
    };
    let row = CompanyPatchRow {
        name: p.name.as_deref().map(check_name).transpose()?,
        rate_limit: p.rate_limit.map(|r| r.map(check_rate_limit).transpose()).transpose()?,
        schedule: p.schedule.as_ref().map(|s| s.as_deref().map(check_schedule).transpose()).transpose()?,
        watch_interval_secs: p
            .watch_interval
            .map(|d| d.map(|d| check_secs("watch_interval", d)).transpose())
            .transpose()?,
        history_refresh_after_secs: p
            .history_refresh_after
            .map(|d| d.map(|d| check_secs("history_refresh_after", d)).transpose())
            .transpose()?,
        chain_max_contracts: p
            .chain_max_contracts
            .map(|n| check_count("chain_max_contracts", n, 1, 100))
            .transpose()?,
        chain_max_months: p.chain_max_months.map(|n| check_count("chain_max_months", n, 1, 1200)).transpose()?,
        chain_gap_months: p.chain_gap_months.map(|n| check_count("chain_gap_months", n, 0, 120)).transpose()?,
    };
    let mut tx = db.begin().await?;
    if companies::update(&mut tx, id, &row).await?.is_none() {
        return Err(CompanyError::NotFound);
    }
    if let Some(key) = key {
        let (sealed, expires) = match &key {
            Some((sealed, expires)) => (Some(sealed.as_slice()), *expires),
            None => (None, None),
        };
        companies::set_api_key(&mut tx, id, sealed, expires).await?;
    }
    if let Some(webhook) = webhook {
        companies::set_webhook_secrets(&mut tx, id, webhook.as_deref()).await?;
    }
    audit::record(&mut tx, by.entry(AuditAction::CompanyUpdated, id)).await?;
    tx.commit().await?;
    Ok(())
}

/// Delete a company and everything stored about it, with its `company_deleted` entry (the audit
/// log keeps the company's id).
pub async fn delete(db: &Db, id: Uuid, by: &ChangedBy) -> Result<(), CompanyError> {
    let mut tx = db.begin().await?;
    if !companies::delete(&mut tx, id).await? {
        return Err(CompanyError::NotFound);
    }
    audit::record(&mut tx, by.entry(AuditAction::CompanyDeleted, id)).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_name_their_field_and_never_a_secret() {
        assert!(matches!(check_schedule("every day"), Err(CompanyError::Invalid { field: "schedule", .. })));
        assert_eq!(check_schedule("off").unwrap(), "off");
        assert!(check_schedule(" off ").is_err(), "exactly the documented pattern");
        assert!(check_schedule("0 0 */6 * * *").is_ok());
        assert!(matches!(check_rate_limit(0), Err(CompanyError::Invalid { field: "rate_limit", .. })));
        assert!(matches!(check_name("  "), Err(CompanyError::Invalid { field: "name", .. })));
        let key = SecretString::from("has space".to_string());
        let err = check_api_key(&key).unwrap_err().to_string();
        assert!(err.starts_with("api_key:") && !err.contains("has space"), "{err}");
        let id = Uuid::new_v4();
        let secret = SecretString::from("whsec_bm90LWJhc2U2NCE=!".to_string());
        let err = seal_webhook_secrets(Some(&SecretsKey::generate()), id, &[secret]).unwrap_err().to_string();
        assert!(err.starts_with("webhook_secrets:") && !err.contains("bm90"), "{err}");
    }

    #[test]
    fn storing_a_secret_needs_secrets_key_and_what_is_stored_opens_again() {
        let id = Uuid::new_v4();
        let key = SecretString::from("a-real-api-key".to_string());
        assert!(matches!(seal_key(None, id, &key), Err(CompanyError::SecretsKeyMissing)));
        let secrets = SecretsKey::generate();
        let secret = SecretString::from("whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5".to_string());
        let sealed = seal_webhook_secrets(Some(&secrets), id, &[secret]).unwrap();
        assert_eq!(open_webhook_secrets(&secrets, id, &sealed).unwrap().len(), 1);
        assert!(open_webhook_secrets(&SecretsKey::generate(), id, &sealed).is_err());
    }
}
