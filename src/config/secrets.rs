//! The key company secrets are sealed under at rest: `SECRETS_KEY` (base64 of 32 random bytes),
//! and, while rotating it, `SECRETS_KEY_PREVIOUS` (the key they were sealed under before).

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::companies::SecretsKey;

/// `SECRETS_KEY` and `SECRETS_KEY_PREVIOUS`.
pub(super) struct Secrets {
    pub key: Option<SecretsKey>,
    pub previous: Option<SecretsKey>,
}

fn parse_key(v: &Values<'_>, name: &'static str) -> Result<Option<SecretsKey>, ConfigError> {
    v.text(name).map(|text| SecretsKey::from_base64(text).map_err(|problem| bad(name, problem))).transpose()
}

pub(super) fn parse(v: &Values<'_>) -> Result<Secrets, ConfigError> {
    let key = parse_key(v, "SECRETS_KEY")?;
    let previous = parse_key(v, "SECRETS_KEY_PREVIOUS")?;
    if previous.is_some() && key.is_none() {
        return Err(bad("SECRETS_KEY_PREVIOUS", "is set without SECRETS_KEY, the key to seal everything under anew"));
    }
    Ok(Secrets { key, previous })
}
