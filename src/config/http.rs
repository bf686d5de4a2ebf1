//! The HTTP server and who may call it: `HTTP_ADDR`, `HTTP_REQUEST_TIMEOUT`, `AUTH_JWT_SECRET`,
//! `API_TOKENS`, `CORS_ORIGINS`.

use std::{net::SocketAddr, time::Duration};

use secrecy::{SecretBox, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::domain::Role;

/// A named static API token (`API_TOKENS=name:token[:role[:uuid|uuid..]],...`).
#[derive(Debug)]
pub struct ApiToken {
    pub name: String,
    /// The token's SHA-256, computed once here: a request's token is compared with it in constant
    /// time, and the token itself is not kept.
    pub digest: SecretBox<[u8; 32]>,
    /// Default `operator`.
    pub role: Role,
    /// The companies the token may see; `None` = all.
    pub companies: Option<Vec<Uuid>>,
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

/// `name:token[:role[:uuid|uuid..]]` entries separated by commas; a token is a secret, so errors
/// never show it (nor its entry, only the entry's position).
fn parse_tokens(raw: &str) -> Result<Vec<ApiToken>, ConfigError> {
    let entries = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
    let tokens = entries.enumerate().map(|(i, entry)| parse_token(i + 1, entry)).collect::<Result<Vec<_>, _>>()?;
    for (i, t) in tokens.iter().enumerate() {
        if tokens[..i].iter().any(|o| o.name == t.name) {
            return Err(bad("API_TOKENS", format!("the name {:?} is used twice", t.name)));
        }
    }
    Ok(tokens)
}

fn parse_token(n: usize, entry: &str) -> Result<ApiToken, ConfigError> {
    let wrong = |problem: &str| bad("API_TOKENS", format!("entry {n}: {problem}"));
    let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
    let (name, token, role, companies) = match parts.as_slice() {
        [name, token] => (*name, *token, None, None),
        [name, token, role] => (*name, *token, Some(*role), None),
        [name, token, role, companies] => (*name, *token, Some(*role), Some(*companies)),
        _ => return Err(wrong("use name:token[:role[:uuid|uuid..]] (a token may not contain ':')")),
    };
    if name.is_empty() || token.len() < 16 || name.chars().any(char::is_control) {
        return Err(wrong("each token needs a name and at least 16 characters"));
    }
    let role = match role {
        None | Some("") => Role::Operator,
        Some(role) => role.parse().map_err(|_| wrong("the role must be viewer, operator or admin"))?,
    };
    let companies = companies
        .map(|list| {
            list.split('|')
                .map(|id| Uuid::parse_str(id.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| wrong("the companies must be UUIDs separated by |"))
        })
        .transpose()?;
    let digest = SecretBox::new(Box::new(Sha256::digest(token.as_bytes()).into()));
    Ok(ApiToken { name: name.to_string(), digest, role, companies })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn an_entry_names_its_role_and_companies_and_defaults_to_an_operator_of_all() {
        // Arrange
        let a = "7e3f2a10-5b6c-4d8e-9f01-23456789abcd";
        let b = "0b7d7c8e-1111-4222-8333-944455556666";
        let raw = format!("ci:aaaaaaaaaaaaaaaa, ro:bbbbbbbbbbbbbbbb:viewer:{a}|{b}, boss:cccccccccccccccc:admin");
        // Act
        let tokens = parse_tokens(&raw).unwrap();
        // Assert
        let seen: Vec<_> = tokens.iter().map(|t| (t.name.as_str(), t.role, t.companies.clone())).collect();
        assert_eq!(
            seen,
            [
                ("ci", Role::Operator, None),
                ("ro", Role::Viewer, Some(vec![a.parse().unwrap(), b.parse().unwrap()])),
                ("boss", Role::Admin, None),
            ]
        );
        let digest: [u8; 32] = Sha256::digest(b"bbbbbbbbbbbbbbbb").into();
        assert_eq!(tokens[1].digest.expose_secret(), &digest);
    }

    #[test]
    fn a_bad_entry_is_named_by_its_position_and_never_shows_the_token() {
        for (raw, problem) in [
            ("ci:aaaaaaaaaaaaaaaa:root", "entry 1: the role must be viewer, operator or admin"),
            ("ci:aaaaaaaaaaaaaaaa,x:bbbbbbbbbbbbbbbb:viewer:acme", "entry 2: the companies must be UUIDs"),
            ("ci:aaaaaaaaaaaaaaaa:viewer:a:b", "entry 1: use name:token[:role[:uuid|uuid..]]"),
            ("ci:short", "entry 1: each token needs a name and at least 16 characters"),
            ("ci:aaaaaaaaaaaaaaaa,ci:bbbbbbbbbbbbbbbb", "the name \"ci\" is used twice"),
        ] {
            let err = parse_tokens(raw).unwrap_err();
            assert_eq!(err.key, "API_TOKENS");
            assert!(err.problem.starts_with(problem), "{raw}: {}", err.problem);
            assert!(!err.problem.contains("aaaaaaaa") && !err.problem.contains("bbbbbbbb"), "{}", err.problem);
        }
    }
}
