//! Endpoint changes through the management API: add one (with a new `whsec_` secret, shown once),
//! change, delete, rotate its secret. Each is validated (the URL by the SSRF guard, [`super::guard`]),
//! stored in one transaction with its audit entry, then announced ([`super::announce`]) so every
//! replica's dispatcher picks it up without a restart.

use chrono::Utc;
use secrecy::SecretString;
use uuid::Uuid;

use super::{announce::announce, consumers, filter::EventKind, guard, secrets};
use crate::{
    bus::Bus,
    companies::SecretsKey,
    db::{
        Db,
        audit::{self, AuditEntry},
        endpoints::{self, EndpointPatch, EndpointRow, NewEndpoint},
    },
    domain::{AuditAction, Role},
};

/// The longest `description`.
pub const MAX_DESCRIPTION: usize = 500;

/// Who makes a change, for its audit entry.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub role: Role,
    /// The request's `x-request-id`.
    pub request_id: Option<String>,
}

impl Actor {
    /// The audit entry of `action` on `endpoint`.
    pub fn entry(&self, action: AuditAction, endpoint: &EndpointRow) -> AuditEntry {
        AuditEntry {
            actor: self.name.clone(),
            role: self.role,
            action,
            company_id: endpoint.company_id,
            target: Some(endpoint.id.to_string()),
            request_id: self.request_id.clone(),
        }
    }
}

/// Why an endpoint change was refused.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// A bad field; the message starts with its name.
    #[error("{0}")]
    Invalid(String),
    #[error("no such endpoint")]
    NotFound,
    #[error("endpoint secrets are stored encrypted under SECRETS_KEY, which is not set")]
    SecretsKeyMissing,
    /// NATS cannot take the replay now.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl From<guard::UrlProblem> for EndpointError {
    fn from(problem: guard::UrlProblem) -> EndpointError {
        EndpointError::Invalid(problem.to_string())
    }
}

/// An endpoint to add. Its company (when named) is one the caller may see: the HTTP layer checks.
#[derive(Debug, Clone)]
pub struct NewSpec {
    pub url: String,
    pub company_id: Option<Uuid>,
    pub types: Option<Vec<EventKind>>,
    pub description: Option<String>,
}

/// A change: `None` leaves a field as it is; `types: Some(None)` = every type, `description:
/// Some(None)` removes it.
#[derive(Debug, Clone, Default)]
pub struct PatchSpec {
    pub url: Option<String>,
    pub types: Option<Option<Vec<EventKind>>>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
}

/// What the writes need: the database, NATS (announcements, consumers), the key secrets are sealed
/// with, and whether private addresses are allowed.
#[derive(Clone, Copy)]
pub struct Admin<'a> {
    pub db: &'a Db,
    pub bus: &'a Bus,
    pub secrets: Option<&'a SecretsKey>,
    pub allow_private: bool,
}

/// `types` as stored: sorted, each once; `None` = every type.
fn type_names(types: Option<Vec<EventKind>>) -> Result<Option<Vec<String>>, EndpointError> {
    let Some(mut types) = types else { return Ok(None) };
    if types.is_empty() {
        return Err(EndpointError::Invalid("types: name at least one type, or send null for every type".into()));
    }
    types.sort();
    types.dedup();
    Ok(Some(types.iter().map(ToString::to_string).collect()))
}

fn description(text: Option<String>) -> Result<Option<String>, EndpointError> {
    match text {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => {
            Err(EndpointError::Invalid(format!("description: at most {MAX_DESCRIPTION} characters")))
        }
        other => Ok(other),
    }
}

/// A company that does not exist (the foreign key) is a bad `company_id`.
fn unknown_company(e: sqlx::Error) -> EndpointError {
    match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            EndpointError::Invalid("company_id: no such company".into())
        }
        _ => EndpointError::Database(e),
    }
}

impl Admin<'_> {
    async fn checked_url(&self, text: &str) -> Result<String, EndpointError> {
        Ok(guard::check_url(text, self.allow_private).await?.to_string())
    }

    /// Add an endpoint; returns it and its secret (shown only now).
    pub async fn create(&self, spec: NewSpec, by: &Actor) -> Result<(EndpointRow, SecretString), EndpointError> {
        let key = self.secrets.ok_or(EndpointError::SecretsKeyMissing)?;
        let url = self.checked_url(&spec.url).await?;
        let types = type_names(spec.types)?;
        let description = description(spec.description)?;
        let id = Uuid::new_v4();
        let (secret, sealed) = secrets::generate(key, id);
        let new = NewEndpoint {
            id,
            url: &url,
            company_id: spec.company_id,
            types: types.as_deref(),
            description: description.as_deref(),
            secret: &sealed,
        };
        let mut tx = self.db.begin().await?;
        let row = endpoints::insert(&mut *tx, &new).await.map_err(unknown_company)?;
        audit::record(&mut tx, by.entry(AuditAction::EndpointCreated, &row)).await?;
        tx.commit().await?;
        announce(self.bus, Some(id)).await;
        Ok((row, secret))
    }

    /// Change an endpoint's url, types, description or whether it is enabled.
    pub async fn update(&self, id: Uuid, patch: PatchSpec, by: &Actor) -> Result<EndpointRow, EndpointError> {
        let url = match &patch.url {
            Some(text) => Some(self.checked_url(text).await?),
            None => None,
        };
        let types = patch.types.map(type_names).transpose()?;
        let description = patch.description.map(description).transpose()?;
        let change = EndpointPatch { url, types, description, enabled: patch.enabled };
        let mut tx = self.db.begin().await?;
        let row = endpoints::update(&mut *tx, id, &change).await?.ok_or(EndpointError::NotFound)?;
        audit::record(&mut tx, by.entry(AuditAction::EndpointUpdated, &row)).await?;
        tx.commit().await?;
        announce(self.bus, Some(id)).await;
        Ok(row)
    }

    /// Delete an endpoint, its attempts log, and its consumers (with what they still held).
    pub async fn delete(&self, id: Uuid, by: &Actor) -> Result<(), EndpointError> {
        let mut tx = self.db.begin().await?;
        let row = endpoints::delete(&mut *tx, id).await?.ok_or(EndpointError::NotFound)?;
        audit::record(&mut tx, by.entry(AuditAction::EndpointDeleted, &row)).await?;
        tx.commit().await?;
        announce(self.bus, Some(id)).await;
        // The dispatchers prune again once their task for it has stopped (it might recreate one).
        consumers::prune(self.bus, id, &[]).await;
        Ok(())
    }

    /// A new secret for the endpoint; the current one keeps signing (a second signature) for
    /// [`secrets::OVERLAP`]. Returns the new secret (shown only now).
    pub async fn rotate(&self, endpoint: &EndpointRow, by: &Actor) -> Result<SecretString, EndpointError> {
        let key = self.secrets.ok_or(EndpointError::SecretsKeyMissing)?;
        let (secret, sealed) = secrets::generate(key, endpoint.id);
        let until = Utc::now() + chrono::Duration::from_std(secrets::OVERLAP).expect("a day fits");
        let mut tx = self.db.begin().await?;
        if !endpoints::rotate(&mut *tx, endpoint.id, &sealed, until).await? {
            return Err(EndpointError::NotFound);
        }
        audit::record(&mut tx, by.entry(AuditAction::EndpointSecretRotated, endpoint)).await?;
        tx.commit().await?;
        announce(self.bus, Some(endpoint.id)).await;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_stored_sorted_once_each_and_an_empty_list_is_refused_naming_types() {
        let kinds: Vec<EventKind> =
            ["salary_change", "milestone.notice_due", "salary_change"].iter().map(|k| k.parse().unwrap()).collect();
        assert_eq!(type_names(Some(kinds)).unwrap(), Some(vec!["salary_change".into(), "milestone.notice_due".into()]));
        assert_eq!(type_names(None).unwrap(), None);
        assert!(type_names(Some(vec![])).unwrap_err().to_string().starts_with("types:"));
        assert!(description(Some("x".repeat(501))).unwrap_err().to_string().starts_with("description:"));
        assert_eq!(description(Some("ok".into())).unwrap(), Some("ok".into()));
    }
}
