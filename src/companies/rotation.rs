//! Rotating `SECRETS_KEY`: started with `SECRETS_KEY` = the new key and `SECRETS_KEY_PREVIOUS` =
//! the old one, every value still sealed under the old key (companies' API keys and webhook
//! secrets, endpoints' signing secrets, the digest key) is opened with it and sealed under the new
//! one, all in one transaction, before anything else reads them. Values the new key opens already
//! are left as they are, so a second start (another replica, or the same settings again) changes
//! nothing; once one start has done it, `SECRETS_KEY_PREVIOUS` is no longer needed.

use secrecy::zeroize::Zeroizing;
use uuid::Uuid;

use super::{Field, SecretsKey};
use crate::{
    config::ConfigError,
    db::{Db, sealed},
};

/// What one value needs.
enum Step {
    /// The new key opens it: nothing to do.
    Current,
    /// Opened with the previous key: sealed anew under the new one.
    Resealed(Vec<u8>),
}

/// The two keys of a rotation.
struct Keys<'a> {
    current: &'a SecretsKey,
    previous: &'a SecretsKey,
}

impl Keys<'_> {
    /// `stored` (sealed for `owner`'s `field`) as the new key would have sealed it; `what` names
    /// the value in the one-line error when neither key opens it.
    fn step(&self, owner: Uuid, field: Field, stored: &[u8], what: &str) -> Result<Step, ConfigError> {
        if self.current.open(owner, field, stored).is_ok() {
            return Ok(Step::Current);
        }
        let plain = Zeroizing::new(self.previous.open(owner, field, stored).map_err(|_| ConfigError {
            key: "SECRETS_KEY",
            problem: format!(
                "neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS opens {what}; set the keys they were stored with"
            ),
        })?);
        Ok(Step::Resealed(self.current.seal(owner, field, &plain)))
    }

    /// The value resealed, or left alone; counts what changed.
    fn reseal(
        &self,
        value: &mut Vec<u8>,
        owner: Uuid,
        field: Field,
        what: &str,
        changed: &mut usize,
    ) -> Result<(), ConfigError> {
        if let Step::Resealed(sealed) = self.step(owner, field, value, what)? {
            *value = sealed;
            *changed += 1;
        }
        Ok(())
    }
}

/// Seal under `current` everything still sealed under `previous`, in one transaction. Fails,
/// naming `SECRETS_KEY` and changing nothing, when a value opens with neither. Returns how many
/// values were sealed anew.
pub async fn rotate(db: &Db, current: &SecretsKey, previous: &SecretsKey) -> anyhow::Result<usize> {
    let keys = Keys { current, previous };
    let mut tx = db.begin().await?;
    let mut all = sealed::lock_all(&mut tx).await?;
    let mut changed = 0;
    for c in &mut all.companies {
        let before = changed;
        let what = format!("the stored secrets of company {}", c.id);
        if let Some(v) = c.api_key_enc.as_mut() {
            keys.reseal(v, c.id, Field::ApiKey, &what, &mut changed)?;
        }
        if let Some(v) = c.webhook_secrets_enc.as_mut() {
            keys.reseal(v, c.id, Field::WebhookSecrets, &what, &mut changed)?;
        }
        if changed > before {
            sealed::store_company(&mut tx, c).await?;
        }
    }
    for e in &mut all.endpoints {
        let before = changed;
        let what = format!("the stored secret of endpoint {}", e.id);
        keys.reseal(&mut e.secret_enc, e.id, Field::EndpointSecret, &what, &mut changed)?;
        if let Some(v) = e.previous_secret_enc.as_mut() {
            keys.reseal(v, e.id, Field::EndpointSecret, &what, &mut changed)?;
        }
        if changed > before {
            sealed::store_endpoint(&mut tx, e).await?;
        }
    }
    if let Some(mut v) = all.digest_key.take() {
        let before = changed;
        keys.reseal(&mut v, Uuid::nil(), Field::DigestKey, "the personal-data digest key", &mut changed)?;
        if changed > before {
            sealed::store_digest_key(&mut tx, &v).await?;
        }
    }
    tx.commit().await?;
    if changed > 0 {
        tracing::info!(values = changed, "sealed under the new SECRETS_KEY; SECRETS_KEY_PREVIOUS is no longer needed");
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_previous_key_is_sealed_anew_and_one_of_neither_key_names_secrets_key() {
        let (old, new, other) = (SecretsKey::generate(), SecretsKey::generate(), SecretsKey::generate());
        let keys = Keys { current: &new, previous: &old };
        let owner = Uuid::new_v4();
        let mut value = old.seal(owner, Field::ApiKey, b"the-key");
        let mut changed = 0;
        keys.reseal(&mut value, owner, Field::ApiKey, "x", &mut changed).unwrap();
        assert_eq!((new.open(owner, Field::ApiKey, &value).unwrap(), changed), (b"the-key".to_vec(), 1));
        // Already under the new key: left alone.
        let before = value.clone();
        keys.reseal(&mut value, owner, Field::ApiKey, "x", &mut changed).unwrap();
        assert_eq!((value, changed), (before, 1));
        let mut foreign = other.seal(owner, Field::ApiKey, b"the-key");
        let err = keys.reseal(&mut foreign, owner, Field::ApiKey, "company x's key", &mut changed).unwrap_err();
        assert_eq!(err.key, "SECRETS_KEY");
        assert!(err.problem.contains("company x's key") && !err.problem.contains("the-key"), "{}", err.problem);
    }
}
