//! The HTTP server and who may call it: `HTTP_ADDR`, `HTTP_REQUEST_TIMEOUT`, `AUTH_JWT_SECRET`,
//! `API_TOKENS`, `CORS_ORIGINS`.

use std::{net::SocketAddr, time::Duration};

use secrecy::SecretString;

use super::{
    ConfigError,
    values::{Values, bad},
};

/// A named static API token (`API_TOKENS=name:token,...`).
#[derive(Debug)]
pub struct ApiToken {
    pub name: String,
    pub token: SecretString,
}

pub(super) struct Http {
    pub http_addr: SocketAddr,
    pub request_timeout: Duration,
    pub auth_jwt_secret: Option<SecretString>,
    pub api_tokens: Vec<ApiToken>,
    pub cors_origins: Vec<String>,
}

pub(super) fn parse(v: &Values<'_>) -> Result<Http, ConfigError> {
    Ok(Http {
        http_addr: v.addr("HTTP_ADDR", SocketAddr::from(([0, 0, 0, 0], 8080)))?,
        request_timeout: v.duration("HTTP_REQUEST_TIMEOUT", "30s")?,
        auth_jwt_secret: v.text("AUTH_JWT_SECRET").map(|s| SecretString::from(s.to_string())),
        api_tokens: v.text("API_TOKENS").map(parse_tokens).transpose()?.unwrap_or_default(),
        cors_origins: v
            .text("CORS_ORIGINS")
            .map(|s| {
                s.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect()
            })
            .unwrap_or_default(),
    })
}

/// `name:token` pairs separated by commas; a token is a secret, so errors never show it.
fn parse_tokens(raw: &str) -> Result<Vec<ApiToken>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (name, token) =
                pair.split_once(':').ok_or_else(|| bad("API_TOKENS", "use name:token pairs separated by commas"))?;
            if name.trim().is_empty() || token.trim().len() < 16 {
                return Err(bad("API_TOKENS", "each token needs a name and at least 16 characters"));
            }
            Ok(ApiToken { name: name.trim().to_string(), token: SecretString::from(token.trim().to_string()) })
        })
        .collect()
}
