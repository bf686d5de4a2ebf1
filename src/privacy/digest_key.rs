//! The key personal fields are digested under: 32 random bytes made once per deployment and
//! stored sealed under `SECRETS_KEY` (XChaCha20-Poly1305, like the companies' secrets), or plain
//! while `SECRETS_KEY` is unset — sealed, with the plain copy removed, at the first start that
//! has it.
//!
//! Made once rather than derived from `SECRETS_KEY`: a digest cannot be recomputed once the value
//! is gone, so a key that changed with `SECRETS_KEY` would turn every stored digest into a
//! reported `personal_data_change` at the next sync. Sealed, it can move with a rotation of
//! `SECRETS_KEY` instead: [`load`] re-seals it under `secrets` when only `previous` opens it.

use anyhow::Context as _;
use chacha20poly1305::aead::{OsRng, rand_core::RngCore};
use uuid::Uuid;

use crate::{
    companies::{Field, SecretsKey},
    config::ConfigError,
    db::{Db, privacy},
    domain::minimise::DigestKey,
};

/// The digest key of this deployment: made and stored at the first start, read afterwards.
pub async fn load(db: &Db, secrets: Option<&SecretsKey>, previous: Option<&SecretsKey>) -> anyhow::Result<DigestKey> {
    loop {
        match privacy::digest_key(db).await.context("reading the digest key")? {
            None => {
                let mut bytes = [0u8; 32];
                OsRng.fill_bytes(&mut bytes);
                let sealed = secrets.map(|k| seal(k, &bytes));
                let plain = secrets.is_none().then_some(&bytes[..]);
                if privacy::create_digest_key(db, sealed.as_deref(), plain).await.context("storing the digest key")? {
                    if secrets.is_none() {
                        tracing::warn!("SECRETS_KEY is not set: the personal-data digest key is stored unsealed");
                    }
                    return Ok(DigestKey::from_bytes(bytes));
                }
            }
            Some(row) => return open(db, row, secrets, previous).await,
        }
    }
}

async fn open(
    db: &Db,
    row: privacy::DigestKeyRow,
    secrets: Option<&SecretsKey>,
    previous: Option<&SecretsKey>,
) -> anyhow::Result<DigestKey> {
    let refused = |what: &str| ConfigError {
        key: "SECRETS_KEY",
        problem: format!(
            "{what}, but the personal-data digest key is stored sealed under it; set the SECRETS_KEY it was stored with (or keep that one in SECRETS_KEY_PREVIOUS)"
        ),
    };
    let bytes: [u8; 32] = match (row.sealed, row.plain) {
        (Some(sealed), _) => {
            let current = secrets.ok_or_else(|| refused("not set"))?;
            match current.open(Uuid::nil(), Field::DigestKey, &sealed) {
                Ok(plain) => key_bytes(plain)?,
                Err(_) => {
                    let old = previous
                        .and_then(|p| p.open(Uuid::nil(), Field::DigestKey, &sealed).ok())
                        .ok_or_else(|| refused("does not open it"))?;
                    let bytes = key_bytes(old)?;
                    privacy::reseal_digest_key(db, &seal(current, &bytes)).await?;
                    tracing::info!("the personal-data digest key is sealed under the new SECRETS_KEY");
                    bytes
                }
            }
        }
        (None, Some(plain)) => {
            let bytes = key_bytes(plain)?;
            if let Some(current) = secrets {
                privacy::reseal_digest_key(db, &seal(current, &bytes)).await?;
                tracing::info!("the personal-data digest key is now sealed under SECRETS_KEY");
            }
            bytes
        }
        (None, None) => anyhow::bail!("the stored digest key is empty"),
    };
    Ok(DigestKey::from_bytes(bytes))
}

fn seal(key: &SecretsKey, bytes: &[u8; 32]) -> Vec<u8> {
    key.seal(Uuid::nil(), Field::DigestKey, bytes)
}

fn key_bytes(stored: Vec<u8>) -> anyhow::Result<[u8; 32]> {
    stored.try_into().map_err(|_| anyhow::anyhow!("the stored digest key is not 32 bytes"))
}
