//! Bearer authentication: an HS256 JWT (`email` claim, source `manual`) or a named static
//! API token (source `api`). `triggered_by` always comes from here, never from a body.

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::{domain::Source, error::AppError};

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Identity {
    pub source: Source,
    pub name: String,
}

#[derive(Deserialize)]
struct Claims {
    email: String,
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::Unauthorized("missing bearer token".into()))?;
        authenticate(state, token).ok_or_else(|| AppError::Unauthorized("invalid or expired token".into()))
    }
}

fn authenticate(state: &AppState, token: &str) -> Option<Identity> {
    // Compare digests so neither length nor content leaks through timing.
    let presented = Sha256::digest(token.as_bytes());
    for t in &state.config.api_tokens {
        let known = Sha256::digest(t.token.expose_secret().as_bytes());
        if bool::from(presented.ct_eq(&known)) {
            return Some(Identity { source: Source::Api, name: t.name.clone() });
        }
    }
    let secret = state.config.auth_jwt_secret.as_ref()?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose_secret().as_bytes()),
        &validation,
    )
    .ok()?;
    let email = data.claims.email.trim();
    (!email.is_empty() && email.len() <= 254 && !email.chars().any(char::is_control))
        .then(|| Identity { source: Source::Manual, name: email.to_string() })
}

/// What a sign-in token says: who, and until when.
#[derive(serde::Serialize)]
struct SignIn<'a> {
    email: &'a str,
    iat: i64,
    exp: i64,
}

/// A sign-in JWT for `email`, valid for `ttl`, that [`Identity`] accepts (source `manual`).
pub fn sign_in_token(secret: &secrecy::SecretString, email: &str, ttl: std::time::Duration) -> anyhow::Result<String> {
    let email = email.trim();
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_control) || !email.contains('@') {
        anyhow::bail!("--email must be an e-mail address");
    }
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs())
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| anyhow::anyhow!("--ttl must be positive"))?;
    let claims = SignIn { email, iat: now, exp: now.saturating_add(ttl) };
    let key = jsonwebtoken::EncodingKey::from_secret(secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key)?)
}

impl Identity {
    /// The role the caller acts in. Until roles are assigned per token and person (the companies
    /// API), every authenticated caller may do everything, as an admin.
    pub fn role(&self) -> crate::domain::Role {
        crate::domain::Role::Admin
    }

    /// 403 `forbidden` unless the caller's role is at least `role` (see [`Identity::role`]).
    pub fn require_role(&self, role: crate::domain::Role) -> Result<(), AppError> {
        if self.role() >= role { Ok(()) } else { Err(AppError::Forbidden(format!("this needs the {role} role"))) }
    }
}
