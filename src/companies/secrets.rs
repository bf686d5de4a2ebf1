//! Secrets at rest: API keys and webhook secrets sealed with XChaCha20-Poly1305 under
//! `SECRETS_KEY` (base64 of 32 random bytes). Each value gets a random 24-byte nonce and is
//! bound to its place by the associated data `"<company_id>:<field>"`, so a sealed value copied
//! to another company or field does not open. Stored form: nonce ‖ ciphertext (with its tag).
//!
//! Also: when a key that is a JWT expires (its `exp`, read without verifying the token).

use base64::Engine as _;
use chacha20poly1305::{
    Key, XChaCha20Poly1305, XNonce,
    aead::{Aead, AeadCore, KeyInit, OsRng, Payload},
};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use uuid::Uuid;

const NONCE_LEN: usize = 24;

/// The key secrets are sealed under (`SECRETS_KEY`); never printed.
pub struct SecretsKey(SecretBox<[u8; 32]>);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey([redacted])")
    }
}

impl Clone for SecretsKey {
    fn clone(&self) -> Self {
        SecretsKey(SecretBox::new(Box::new(*self.0.expose_secret())))
    }
}

/// Which stored secret a value is (part of its associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ApiKey,
    WebhookSecrets,
    /// The deployment's personal-data digest key (sealed with the nil company id).
    DigestKey,
    /// An outbound endpoint's signing secret (sealed under the endpoint's id).
    EndpointSecret,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::ApiKey => "api_key",
            Field::WebhookSecrets => "webhook_secrets",
            Field::DigestKey => "digest_key",
            Field::EndpointSecret => "endpoint_secret",
        }
    }
}

/// A sealed value that does not open: another key, another company or field, or damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored secret does not open with this SECRETS_KEY")]
pub struct OpenError;

impl SecretsKey {
    /// From the configured text: standard or URL-safe base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<SecretsKey, &'static str> {
        let text = text.trim();
        let engines = [base64::engine::general_purpose::STANDARD, base64::engine::general_purpose::URL_SAFE];
        let bytes = engines
            .iter()
            .find_map(|e| e.decode(text).ok())
            .ok_or("must be base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| "must decode to exactly 32 bytes")?;
        Ok(SecretsKey(SecretBox::new(Box::new(key))))
    }

    /// A fresh random key (tests, and `SECRETS_KEY` suggestions).
    pub fn generate() -> SecretsKey {
        let key: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
        SecretsKey(SecretBox::new(Box::new(key)))
    }

    /// The key as `SECRETS_KEY` text.
    pub fn to_base64(&self) -> SecretString {
        base64::engine::general_purpose::STANDARD.encode(self.0.expose_secret()).into()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(Key::from_slice(self.0.expose_secret()))
    }

    /// Seal `plain` as `company`'s `field`: nonce ‖ ciphertext.
    pub fn seal(&self, company: Uuid, field: Field, plain: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = aad(company, field);
        let sealed = self
            .cipher()
            .encrypt(&nonce, Payload { msg: plain, aad: aad.as_bytes() })
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Open what [`SecretsKey::seal`] made for the same company and field.
    pub fn open(&self, company: Uuid, field: Field, stored: &[u8]) -> Result<Vec<u8>, OpenError> {
        if stored.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let aad = aad(company, field);
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| OpenError)
    }

    /// Seal a text secret.
    pub fn seal_text(&self, company: Uuid, field: Field, secret: &SecretString) -> Vec<u8> {
        self.seal(company, field, secret.expose_secret().as_bytes())
    }

    /// Open a sealed text secret.
    pub fn open_text(&self, company: Uuid, field: Field, stored: &[u8]) -> Result<SecretString, OpenError> {
        let plain = self.open(company, field, stored)?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| OpenError)
    }
}

fn aad(company: Uuid, field: Field) -> String {
    format!("{company}:{}", field.as_str())
}

/// When a key that is a JWT expires: its payload's `exp` (seconds), read without verifying the
/// signature (Employes signs it; we only want to warn in time). Anything else: `None`.
pub fn jwt_expiry(key: &SecretString) -> Option<DateTime<Utc>> {
    let mut parts = key.expose_secret().trim().split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let json = engine.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_i64().or_else(|| exp.as_f64().map(|f| f as i64))?;
    DateTime::from_timestamp(secs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_company_and_field() {
        let key = SecretsKey::generate();
        let company = Uuid::new_v4();
        let sealed = key.seal(company, Field::ApiKey, b"the-api-key");
        assert!(!sealed.windows(b"the-api-key".len()).any(|w| w == b"the-api-key"));
        assert_eq!(key.open(company, Field::ApiKey, &sealed).unwrap(), b"the-api-key");
        assert_eq!(key.open(Uuid::new_v4(), Field::ApiKey, &sealed), Err(OpenError));
        assert_eq!(key.open(company, Field::WebhookSecrets, &sealed), Err(OpenError));
        assert_eq!(SecretsKey::generate().open(company, Field::ApiKey, &sealed), Err(OpenError));
        assert_eq!(key.open(company, Field::ApiKey, &sealed[..10]), Err(OpenError));
        // A fresh nonce each time: the same secret never seals the same way twice.
        assert_ne!(sealed, key.seal(company, Field::ApiKey, b"the-api-key"));
    }

    #[test]
    fn the_key_is_base64_of_32_bytes_and_never_prints() {
        let key = SecretsKey::generate();
        let text = key.to_base64();
        let again = SecretsKey::from_base64(text.expose_secret()).unwrap();
        let company = Uuid::new_v4();
        assert_eq!(again.open(company, Field::ApiKey, &key.seal(company, Field::ApiKey, b"x")).unwrap(), b"x");
        assert!(SecretsKey::from_base64("c2hvcnQ=").is_err());
        assert!(SecretsKey::from_base64("not base64 at all!").is_err());
        assert_eq!(format!("{key:?}"), "SecretsKey([redacted])");
    }

    #[test]
    fn a_jwt_key_tells_its_expiry_and_anything_else_does_not() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = |claims: &str| {
            SecretString::from(format!("{}.{}.sig", engine.encode(r#"{"alg":"HS256"}"#), engine.encode(claims)))
        };
        assert_eq!(jwt(r#"{"exp":1893456000}"#).expose_secret().split('.').count(), 3);
        assert_eq!(jwt_expiry(&jwt(r#"{"exp":1893456000,"sub":"x"}"#)), DateTime::from_timestamp(1_893_456_000, 0));
        assert_eq!(jwt_expiry(&jwt(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry(&SecretString::from("plain-api-key")), None);
        assert_eq!(jwt_expiry(&SecretString::from("a.b.c")), None);
    }
}
