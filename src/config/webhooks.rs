//! Verifying Employes webhooks: `WEBHOOK_SECRET` (`whsec_…` secrets, space-separated, so a key
//! can be rotated).

use secrecy::SecretString;

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::webhook_signature::WebhookKey;

pub(super) struct Webhooks {
    pub webhook_secrets: Vec<WebhookKey>,
    pub webhook_secret_raw: Option<SecretString>,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Webhooks, ConfigError> {
    let raw = v.text("WEBHOOK_SECRET");
    let webhook_secrets = raw
        .map(|raw| raw.split_whitespace().map(WebhookKey::from_whsec).collect::<Result<Vec<_>, _>>())
        .transpose()
        .map_err(|e| bad("WEBHOOK_SECRET", e.to_string()))?
        .unwrap_or_default();
    Ok(Webhooks {
        webhook_secrets,
        webhook_secret_raw: raw.and_then(|r| r.split_whitespace().next()).map(|s| SecretString::from(s.to_string())),
    })
}
