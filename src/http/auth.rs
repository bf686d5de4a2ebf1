//! Bearer authentication and what the caller may do: an HS256 JWT (`email` claim, source
//! `manual`; `role` and `companies` claims) or a named static API token (source `api`; the role
//! and companies of its `API_TOKENS` entry). `triggered_by` always comes from here, never from a
//! body.
//!
//! Every handler takes an [`Identity`]: a route that needs more than `viewer` calls
//! [`Identity::require`] (403 `forbidden`), and a company the caller may not see is answered
//! exactly as an unknown one (404), through [`Identity::sees`] and [`Identity::companies`].

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, header, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::AppState;
pub use crate::domain::Role;
use crate::{domain::Source, error::AppError};

/// Who is calling, and what they may do.
#[derive(Debug, Clone)]
pub struct Identity {
    pub source: Source,
    pub name: String,
    pub role: Role,
    /// The companies the caller may see; `None` = all.
    pub companies: Option<Vec<Uuid>>,
}

impl Identity {
    /// `Ok` when the caller's role is `role` or higher, else 403 `forbidden`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs the {role} role; the caller is {}", self.role)))
        }
    }

    /// Whether the caller may see `company` (one it may not see is answered as unknown: 404).
    pub fn sees(&self, company: Uuid) -> bool {
        self.companies.as_ref().is_none_or(|list| list.contains(&company))
    }

    /// The caller's companies as a filter (`None` = all).
    pub fn visible(&self) -> Option<&[Uuid]> {
        self.companies.as_deref()
    }

    /// `Ok` when the caller may see `company`, else 404 as for an unknown one (`what` names it).
    pub fn visible_or_not_found(&self, company: Uuid, what: &str) -> Result<(), AppError> {
        if self.sees(company) { Ok(()) } else { Err(AppError::NotFound(format!("no such {what}"))) }
    }
}

/// What the service reads from a JWT: `email` (required), `role` (default `operator`),
/// `companies` (default all).
#[derive(Deserialize)]
struct Claims {
    email: String,
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    companies: Option<Vec<Uuid>>,
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = AppError;

    /// The caller the rate limit ([`super::limits::api`]) authenticated, else the bearer token's.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match parts.extensions.get::<Identity>() {
            Some(who) => Ok(who.clone()),
            None => identify(state, &parts.headers),
        }
    }
}

/// Who the request's bearer token says is calling; 401 without a valid one.
pub(super) fn identify(state: &AppState, headers: &HeaderMap) -> Result<Identity, AppError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::Unauthorized("missing bearer token".into()))?;
    authenticate(state, token).ok_or_else(|| AppError::Unauthorized("invalid or expired token".into()))
}

fn authenticate(state: &AppState, token: &str) -> Option<Identity> {
    // Compare digests so neither length nor content leaks through timing.
    let presented = Sha256::digest(token.as_bytes());
    for t in &state.config.api_tokens {
        if bool::from(presented.as_slice().ct_eq(t.digest.expose_secret())) {
            return Some(Identity {
                source: Source::Api,
                name: t.name.clone(),
                role: t.role,
                companies: t.companies.clone(),
            });
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
    let Claims { email, role, companies } = data.claims;
    let email = email.trim();
    (!email.is_empty() && email.len() <= 254 && !email.chars().any(char::is_control)).then(|| Identity {
        source: Source::Manual,
        name: email.to_string(),
        role: role.unwrap_or(Role::Operator),
        companies,
    })
}

/// What a sign-in token says: who, what they may do, and until when.
#[derive(serde::Serialize)]
struct SignIn<'a> {
    email: &'a str,
    role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    companies: Option<&'a [Uuid]>,
    iat: i64,
    exp: i64,
}

/// Who a sign-in token is for: the person, their role and (`None` = all) their companies.
#[derive(Debug, Clone)]
pub struct SignInFor<'a> {
    pub email: &'a str,
    pub role: Role,
    pub companies: Option<&'a [Uuid]>,
}

/// A sign-in JWT, valid for `ttl`, that [`Identity`] accepts (source `manual`).
pub fn sign_in_token(
    secret: &secrecy::SecretString,
    who: &SignInFor<'_>,
    ttl: std::time::Duration,
) -> anyhow::Result<String> {
    let email = who.email;
    let email = email.trim();
    if email.is_empty() || email.len() > 254 || email.chars().any(char::is_control) || !email.contains('@') {
        anyhow::bail!("--email must be an e-mail address");
    }
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs())
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| anyhow::anyhow!("--ttl must be positive"))?;
    let claims = SignIn { email, role: who.role, companies: who.companies, iat: now, exp: now.saturating_add(ttl) };
    let key = jsonwebtoken::EncodingKey::from_secret(secret.expose_secret().as_bytes());
    Ok(jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::HS256), &claims, &key)?)
}
