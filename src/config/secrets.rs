//! The key company secrets are sealed under at rest: `SECRETS_KEY` (base64 of 32 random bytes).

use super::{
    ConfigError,
    values::{Values, bad},
};
use crate::companies::SecretsKey;

pub(super) fn parse(v: &Values<'_>) -> Result<Option<SecretsKey>, ConfigError> {
    v.text("SECRETS_KEY")
        .map(|text| SecretsKey::from_base64(text).map_err(|problem| bad("SECRETS_KEY", problem)))
        .transpose()
}
