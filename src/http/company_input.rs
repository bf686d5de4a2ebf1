//! The bodies of `POST /api/companies` and `PATCH /api/companies/{id}`, and what they become for
//! [`crate::companies`] (which validates every value and seals keys and secrets). A key or
//! secret is wrapped in a `SecretString` as soon as it is read, and no message names its value.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, de::Error as _};
use uuid::Uuid;

use crate::{
    companies::{CompanyPatch, NewCompany, formats},
    error::AppError,
};

/// A company to add. Unset settings follow the deployment's defaults.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCompanyBody {
    /// The company's id in Employes.
    id: Uuid,
    /// Default: `Company <first 8 characters of the id>`.
    #[schema(schema_with = schema::name)]
    name: Option<String>,
    /// The Employes API key (a bearer token); stored encrypted, never shown again.
    #[schema(schema_with = schema::api_key)]
    api_key: String,
    /// Requests per second to Employes (companies sharing a key share the lowest).
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "whole")]
    rate_limit: Option<u32>,
    /// Full syncs: a cron expression with seconds (`0 0 */6 * * *`; day of week 1-7 =
    /// Sunday-Saturday), or `off`.
    #[schema(schema_with = schema::schedule)]
    schedule: Option<String>,
    /// How often the company is watched, e.g. `5m`, or `off`.
    #[schema(schema_with = schema::duration_or_off)]
    watch_interval: Option<String>,
    /// Every employee's history is read again within this, e.g. `24h`.
    #[schema(schema_with = schema::duration)]
    history_refresh_after: Option<String>,
    /// 1-10 `whsec_…` secrets its webhooks are verified with (else `WEBHOOK_SECRET`).
    #[schema(value_type = Option<Vec<WebhookSecret>>, min_items = 1, max_items = 10)]
    webhook_secrets: Option<Vec<String>>,
    /// Fixed contracts in a chain before the next must be permanent (default 3).
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "whole")]
    chain_max_contracts: Option<u32>,
    /// Months a chain may span (default 36).
    #[schema(minimum = 1, maximum = 1200)]
    #[serde(default, deserialize_with = "whole")]
    chain_max_months: Option<u32>,
    /// A gap of more than this many months breaks a chain (default 6).
    #[schema(minimum = 0, maximum = 120)]
    #[serde(default, deserialize_with = "whole")]
    chain_gap_months: Option<u32>,
}

/// The schemas of the text settings: their patterns are what [`formats`] holds the server to.
mod schema {
    use utoipa::openapi::{
        KnownFormat, Object, ObjectBuilder, SchemaFormat,
        schema::{SchemaType, Type},
    };

    use crate::companies::formats;

    fn text(pattern: &str, nullable: bool) -> ObjectBuilder {
        let ty =
            if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) };
        ObjectBuilder::new().schema_type(ty).pattern(Some(pattern))
    }

    pub fn name() -> Object {
        text(formats::NAME_PATTERN, true).min_length(Some(1)).max_length(Some(200)).build()
    }

    fn key(nullable: bool) -> Object {
        let password = SchemaFormat::KnownFormat(KnownFormat::Password);
        text(formats::API_KEY_PATTERN, nullable).format(Some(password)).build()
    }

    pub fn api_key() -> Object {
        key(false)
    }

    pub fn api_key_or_null() -> Object {
        key(true)
    }

    pub fn schedule() -> Object {
        text(formats::SCHEDULE_PATTERN, true).build()
    }

    pub fn duration() -> Object {
        text(formats::DURATION_PATTERN, true).build()
    }

    pub fn duration_or_off() -> Object {
        text(formats::DURATION_OR_OFF_PATTERN, true).build()
    }
}

/// A `whsec_…` secret, as the document states it (schema only): exactly what
/// [`crate::webhook_signature::WebhookKey::from_whsec`] takes.
pub struct WebhookSecret;

impl utoipa::PartialSchema for WebhookSecret {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password)))
            .pattern(Some(crate::webhook_signature::WHSEC_PATTERN))
            .description(Some("`whsec_` and the base64 of a key of at least 16 bytes (Standard Webhooks)."))
            .into()
    }
}

impl utoipa::ToSchema for WebhookSecret {}

/// A change to a company: every field is optional; `null` sets `rate_limit`, `schedule`,
/// `watch_interval` and `history_refresh_after` back to the deployment's default, removes a
/// stored `api_key` (back to `EMPLOYES_API_KEY` for a company of the environment) and removes
/// `webhook_secrets` (back to `WEBHOOK_SECRET`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatchBody {
    #[schema(schema_with = schema::name)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schema::api_key_or_null)]
    api_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_whole")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    rate_limit: Option<Option<u32>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schema::schedule)]
    schedule: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schema::duration_or_off)]
    watch_interval: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = schema::duration)]
    history_refresh_after: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<WebhookSecret>>, min_items = 1, max_items = 10)]
    webhook_secrets: Option<Option<Vec<String>>>,
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "whole")]
    chain_max_contracts: Option<u32>,
    #[schema(minimum = 1, maximum = 1200)]
    #[serde(default, deserialize_with = "whole")]
    chain_max_months: Option<u32>,
    #[schema(minimum = 0, maximum = 120)]
    #[serde(default, deserialize_with = "whole")]
    chain_gap_months: Option<u32>,
}

/// A field that is present: `null` is `Some(None)`, absent (the default) is `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A whole number written as `48` or `48.0`: the document says `integer`, which JSON Schema
/// takes in either form, so the server does too.
fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    let integral = n.as_f64().filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f));
    n.as_u64()
        .or(integral.map(|f| f as u64))
        .and_then(|v| u32::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a whole number from 0 to {}, got {n}", u32::MAX)))
}

/// [`whole`] for a field where `null` means "back to the default" ([`present`]).
fn present_whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    whole(d).map(Some)
}

/// `5m`, `24h`, `1d`, … ([`formats::DURATION_PATTERN`]), or (`off_allowed`) `off` = zero.
fn duration(field: &'static str, text: &str, off_allowed: bool) -> Result<Duration, AppError> {
    let or_off = if off_allowed { ", or off" } else { "" };
    formats::parse_duration(text, off_allowed).ok_or_else(|| {
        AppError::BadRequest(format!(
            "{field}: must be a whole number (1-9999) of s, m, h or d, such as 5m or 24h{or_off}"
        ))
    })
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
    fn whole_numbers_may_be_written_with_a_zero_fraction_and_nothing_else_is_one() {
        // Act
        let body: CompanyPatchBody =
            serde_json::from_str(r#"{"rate_limit": 48.0, "chain_max_contracts": 3, "chain_gap_months": 0.0}"#).unwrap();
        let patch = body.into_patch().unwrap();
        // Assert
        assert_eq!(
            (patch.rate_limit, patch.chain_max_contracts, patch.chain_gap_months),
            (Some(Some(48)), Some(3), Some(0))
        );
        for bad in ["4.5", "-1", "-1.0", "1e10", "\"5\""] {
            let err = serde_json::from_str::<CompanyPatchBody>(&format!(r#"{{"chain_max_months": {bad}}}"#)).err();
            assert!(err.is_some(), "{bad}");
        }
        let reset: CompanyPatchBody = serde_json::from_str(r#"{"rate_limit": null}"#).unwrap();
        assert_eq!(reset.into_patch().unwrap().rate_limit, Some(None));
    }

    #[test]
    fn a_bad_duration_names_its_field() {
        let body: CompanyPatchBody = serde_json::from_str(r#"{"history_refresh_after": "off"}"#).unwrap();
        let err = body.into_patch().unwrap_err().to_string();
        assert!(err.starts_with("history_refresh_after: must be a whole number"), "{err}");
        let body: NewCompanyBody = serde_json::from_str(
            r#"{"id": "7e3f2a10-5b6c-4d8e-9f01-23456789abcd", "api_key": "k", "watch_interval": "often"}"#,
        )
        .unwrap();
        let err = body.into_new().unwrap_err().to_string();
        assert!(err.starts_with("watch_interval: must be a whole number") && err.ends_with(", or off"), "{err}");
    }
}
