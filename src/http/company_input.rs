//! The bodies of `POST /api/companies` and `PATCH /api/companies/{id}`, and what they become for
//! [`crate::companies`] (which validates every value and seals keys and secrets). A key or
//! secret is wrapped in a `SecretString` as soon as it is read, and no message names its value.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use crate::{
    companies::{CompanyPatch, NewCompany},
    error::AppError,
};

/// A company to add. Unset settings follow the deployment's defaults.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompanyBody {
    /// The company's id in Employes.
    id: Uuid,
    /// Default: `Company <first 8 characters of the id>`.
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// The Employes API key (a bearer token); stored encrypted, never shown again.
    #[schema(min_length = 1, max_length = 4096, format = Password)]
    api_key: String,
    /// Requests per second to Employes (companies sharing a key share the lowest).
    #[schema(minimum = 1, maximum = 10000)]
    rate_limit: Option<u32>,
    /// Full syncs: a cron expression with seconds (`0 0 */6 * * *`), or `off`.
    schedule: Option<String>,
    /// How often the company is watched, e.g. `5m`, or `off`.
    watch_interval: Option<String>,
    /// Every employee's history is read again within this, e.g. `24h`.
    history_refresh_after: Option<String>,
    /// 1-10 `whsec_…` secrets its webhooks are verified with (else `WEBHOOK_SECRET`).
    #[schema(min_items = 1, max_items = 10)]
    webhook_secrets: Option<Vec<String>>,
    /// Fixed contracts in a chain before the next must be permanent (default 3).
    #[schema(minimum = 1, maximum = 100)]
    chain_max_contracts: Option<u32>,
    /// Months a chain may span (default 36).
    #[schema(minimum = 1, maximum = 1200)]
    chain_max_months: Option<u32>,
    /// A gap of more than this many months breaks a chain (default 6).
    #[schema(minimum = 0, maximum = 120)]
    chain_gap_months: Option<u32>,
}

/// A change to a company: every field is optional; `null` sets `rate_limit`, `schedule`,
/// `watch_interval` and `history_refresh_after` back to the deployment's default, removes a
/// stored `api_key` (back to `EMPLOYES_API_KEY` for a company of the environment) and removes
/// `webhook_secrets` (back to `WEBHOOK_SECRET`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatchBody {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096, format = Password)]
    api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    rate_limit: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    schedule: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    watch_interval: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    history_refresh_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 10)]
    webhook_secrets: Option<Option<Vec<String>>>,
    #[schema(minimum = 1, maximum = 100)]
    chain_max_contracts: Option<u32>,
    #[schema(minimum = 1, maximum = 1200)]
    chain_max_months: Option<u32>,
    #[schema(minimum = 0, maximum = 120)]
    chain_gap_months: Option<u32>,
}

/// A field that is present: `null` is `Some(None)`, absent (the default) is `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `5m`, `24h`, … (humantime), or (`off_allowed`) `off` = zero.
fn duration(field: &'static str, text: &str, off_allowed: bool) -> Result<Duration, AppError> {
    let text = text.trim();
    if off_allowed && text == "off" {
        return Ok(Duration::ZERO);
    }
    let parsed = humantime::parse_duration(text).ok().filter(|d| !d.is_zero() && d.as_secs() < i32::MAX as u64);
    let or_off = if off_allowed { ", or off" } else { "" };
    parsed.ok_or_else(|| AppError::BadRequest(format!("{field}: must be a duration such as 5m or 24h{or_off}")))
}

fn secret(s: String) -> SecretString {
    SecretString::from(s)
}

fn secrets(list: Vec<String>) -> Vec<SecretString> {
    list.into_iter().map(secret).collect()
}

impl NewCompanyBody {
    pub fn into_new(self) -> Result<NewCompany, AppError> {
        Ok(NewCompany {
            id: self.id,
            name: self.name,
            api_key: Some(secret(self.api_key)),
            rate_limit: self.rate_limit,
            schedule: self.schedule,
            watch_interval: self.watch_interval.map(|t| duration("watch_interval", &t, true)).transpose()?,
            history_refresh_after: self
                .history_refresh_after
                .map(|t| duration("history_refresh_after", &t, false))
                .transpose()?,
            webhook_secrets: self.webhook_secrets.map(secrets),
            chain_max_contracts: self.chain_max_contracts,
            chain_max_months: self.chain_max_months,
            chain_gap_months: self.chain_gap_months,
        })
    }
}

impl CompanyPatchBody {
    pub fn into_patch(self) -> Result<CompanyPatch, AppError> {
        let dur = |field, v: Option<Option<String>>, off| {
            v.map(|v| v.map(|t| duration(field, &t, off)).transpose()).transpose()
        };
        Ok(CompanyPatch {
            name: self.name,
            api_key: self.api_key.map(|k| k.map(secret)),
            rate_limit: self.rate_limit,
            schedule: self.schedule,
            watch_interval: dur("watch_interval", self.watch_interval, true)?,
            history_refresh_after: dur("history_refresh_after", self.history_refresh_after, false)?,
            webhook_secrets: self.webhook_secrets.map(|l| l.map(secrets)),
            chain_max_contracts: self.chain_max_contracts,
            chain_max_months: self.chain_max_months,
            chain_gap_months: self.chain_gap_months,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_in_a_patch_resets_a_setting_and_an_absent_field_leaves_it() {
        // Act
        let body: CompanyPatchBody =
            serde_json::from_str(r#"{"rate_limit": null, "schedule": "off", "watch_interval": "10m"}"#).unwrap();
        let patch = body.into_patch().unwrap();
        // Assert
        assert_eq!(patch.rate_limit, Some(None));
        assert_eq!(patch.schedule, Some(Some("off".to_string())));
        assert_eq!(patch.watch_interval, Some(Some(Duration::from_secs(600))));
        assert!(patch.api_key.is_none() && patch.webhook_secrets.is_none() && patch.history_refresh_after.is_none());
    }

    #[test]
    fn a_bad_duration_names_its_field() {
        let body: CompanyPatchBody = serde_json::from_str(r#"{"history_refresh_after": "off"}"#).unwrap();
        let err = body.into_patch().unwrap_err().to_string();
        assert!(err.starts_with("history_refresh_after: must be a duration"), "{err}");
        let body: NewCompanyBody = serde_json::from_str(
            r#"{"id": "7e3f2a10-5b6c-4d8e-9f01-23456789abcd", "api_key": "k", "watch_interval": "often"}"#,
        )
        .unwrap();
        let err = body.into_new().unwrap_err().to_string();
        assert!(err.starts_with("watch_interval: must be a duration such as 5m or 24h, or off"), "{err}");
    }
}
