//! Endpoint secrets: made here (`whsec_` + base64 of 32 random bytes), shown once, stored sealed
//! under `SECRETS_KEY` like the companies' secrets (AAD `<endpoint id>:endpoint_secret`).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;

use crate::{
    companies::{SecretsKey, secrets::Field},
    db::endpoints::SealedSecrets,
    webhook_signature::WebhookKey,
};

/// How long a rotated-out secret keeps signing.
pub const OVERLAP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A new secret and its sealed form.
pub fn generate(key: &SecretsKey, endpoint: Uuid) -> (SecretString, Vec<u8>) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let secret = SecretString::from(format!("whsec_{}", STANDARD.encode(raw)));
    let sealed = key.seal_text(endpoint, Field::EndpointSecret, &secret);
    (secret, sealed)
}

/// An endpoint's signing keys: the current one, and the previous one with the end of its overlap.
pub type Keys = (WebhookKey, Option<(WebhookKey, DateTime<Utc>)>);

/// The signing keys of an endpoint: the current one, and the previous one while its overlap lasts.
pub fn open_keys(key: Option<&SecretsKey>, endpoint: Uuid, sealed: &SealedSecrets) -> anyhow::Result<Keys> {
    let key = key.ok_or_else(|| anyhow::anyhow!("SECRETS_KEY is not set, so endpoint secrets cannot be opened"))?;
    let open = |stored: &[u8]| -> anyhow::Result<WebhookKey> {
        let secret = key.open_text(endpoint, Field::EndpointSecret, stored)?;
        WebhookKey::from_whsec(secret.expose_secret()).map_err(|e| anyhow::anyhow!("stored endpoint secret: {e}"))
    };
    let current = open(&sealed.secret)?;
    let previous = match &sealed.previous {
        Some((stored, until)) => Some((open(stored)?, *until)),
        None => None,
    };
    Ok((current, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_a_whsec_key_that_opens_only_for_its_endpoint() {
        let key = SecretsKey::generate();
        let (id, other) = (Uuid::new_v4(), Uuid::new_v4());
        let (secret, sealed) = generate(&key, id);
        assert!(secret.expose_secret().starts_with("whsec_"));
        assert!(WebhookKey::from_whsec(secret.expose_secret()).is_ok());
        let stored = SealedSecrets { secret: sealed.clone(), previous: None };
        assert!(open_keys(Some(&key), id, &stored).is_ok());
        assert!(open_keys(Some(&key), other, &stored).is_err(), "sealed for another endpoint");
        assert!(open_keys(None, id, &stored).unwrap_err().to_string().contains("SECRETS_KEY"));
        assert!(!sealed.windows(6).any(|w| w == b"whsec_"), "sealed, not plain");
    }
}
