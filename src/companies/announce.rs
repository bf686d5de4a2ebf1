//! Company changes, announced: the [`Registry`] write methods (each validates and stores
//! through [`super::admin`], then tells every replica on `<p>.control.companies`, this one
//! included) and that subscription.

use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ChangedBy, CompanyError, CompanyPatch, CompanyRuntime, NewCompany, Registry, admin};
use crate::bus::Bus;

/// `{"company_id"}` on `<p>.control.companies` (core NATS): a company changed (or, `null`,
/// several may have); every replica reloads all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompaniesChanged {
    #[schema(required = true)]
    pub company_id: Option<Uuid>,
}

impl Registry {
    /// Tell every replica (this one included) that `company` (`None`: any) changed.
    pub async fn announce(&self, company: Option<Uuid>) {
        if let Some(bus) = self.bus() {
            announce(bus, company).await;
        }
        if let Err(e) = self.reload().await {
            tracing::error!(error = format!("{e:#}"), "reloading companies failed");
        }
    }

    /// Add a company (settings validated, secrets sealed, the change audited) and announce it.
    pub async fn insert(&self, c: &NewCompany, by: &ChangedBy) -> Result<Arc<CompanyRuntime>, CompanyError> {
        admin::insert(self.db(), self.secrets_key(), c, by).await?;
        self.announce(Some(c.id)).await;
        self.get(c.id).ok_or(CompanyError::NotFound)
    }

    /// Change a company's settings, key or webhook secrets (audited), and announce it.
    pub async fn update(
        &self,
        id: Uuid,
        patch: &CompanyPatch,
        by: &ChangedBy,
    ) -> Result<Arc<CompanyRuntime>, CompanyError> {
        admin::update(self.db(), self.secrets_key(), id, patch, by).await?;
        self.announce(Some(id)).await;
        self.get(id).ok_or(CompanyError::NotFound)
    }

    /// Store (or, with `None`, remove) a company's API key, and announce it (audited as the
    /// service's own change).
    pub async fn set_api_key(&self, id: Uuid, key: Option<SecretString>) -> Result<Arc<CompanyRuntime>, CompanyError> {
        let patch = CompanyPatch { api_key: Some(key), ..CompanyPatch::default() };
        self.update(id, &patch, &ChangedBy::service()).await
    }

    /// Store (or remove) a company's webhook secrets, and announce it (audited as the service's
    /// own change).
    pub async fn set_webhook_secrets(
        &self,
        id: Uuid,
        secrets: Option<Vec<SecretString>>,
    ) -> Result<Arc<CompanyRuntime>, CompanyError> {
        let patch = CompanyPatch { webhook_secrets: Some(secrets), ..CompanyPatch::default() };
        self.update(id, &patch, &ChangedBy::service()).await
    }

    /// Delete a company and everything stored about it (audited), and announce it.
    pub async fn delete(&self, id: Uuid, by: &ChangedBy) -> Result<(), CompanyError> {
        admin::delete(self.db(), id, by).await?;
        self.announce(Some(id)).await;
        Ok(())
    }
}

/// Follow `<p>.control.companies`; once this returns the server knows of the subscription.
pub(super) async fn subscribe(bus: &Bus) -> Option<async_nats::Subscriber> {
    match bus.client.subscribe(bus.control_companies_subject()).await {
        Ok(sub) => {
            let _ = bus.client.flush().await;
            Some(sub)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot follow company changes yet; reloading every 30 s");
            None
        }
    }
}

/// Announce on `<p>.control.companies` that `company` (`None`: any) changed; every replica
/// reloads.
pub async fn announce(bus: &Bus, company: Option<Uuid>) {
    let payload = serde_json::to_vec(&CompaniesChanged { company_id: company }).expect("it serializes");
    let sent = bus.client.publish(bus.control_companies_subject(), payload.into()).await;
    if let Err(e) = sent.map_err(anyhow::Error::new).and(bus.client.flush().await.map_err(anyhow::Error::new)) {
        tracing::warn!(error = %e, "could not announce a company change; replicas reload within 30 s");
    }
}
