//! Data minimisation: of an employee record the service keeps, as sent, only what it shows
//! ([`SHOWN_FIELDS`]); every other field — birth date, e-mail, phone, address, IBAN, BSN, and any
//! field it does not know — is replaced by a keyed digest of its text (HMAC-SHA256 under the
//! [`DigestKey`], over the field's name and its text as change detection reads it). Two versions
//! of a field have the same digest exactly when change detection would find them equal, so a
//! `personal_data_change` is detected as from the plain values, and nothing of the value is kept.
//!
//! An allow-list, not a deny-list: a field the real API adds tomorrow is digested by default.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::text_of;

/// The fields of an employee record kept as Employes sends them (for display, and the embedded
/// employment for the employee read API).
pub const SHOWN_FIELDS: &[&str] = &[
    "id",
    "first_name",
    "initials",
    "surname_prefix",
    "surname",
    "status",
    "employee_number",
    "dt_update",
    "employment",
];

/// How a digest starts (then 43 characters of unpadded URL-safe base64 of 32 bytes).
const PREFIX: &str = "hmac-sha256:";
const DIGEST_LEN: usize = 43;

/// The key personal fields are digested under; never printed.
pub struct DigestKey(SecretBox<[u8; 32]>);

impl DigestKey {
    pub fn from_bytes(bytes: [u8; 32]) -> DigestKey {
        DigestKey(SecretBox::new(Box::new(bytes)))
    }

    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// The digest of one field's text.
    fn digest(&self, field: &str, text: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.expose()).expect("HMAC takes a key of any length");
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(text.as_bytes());
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey([redacted])")
    }
}

/// Whether a stored value is already a digest (so minimising twice changes nothing).
pub fn is_digest(v: &Value) -> bool {
    v.as_str().and_then(|s| s.strip_prefix(PREFIX)).is_some_and(|d| {
        d.len() == DIGEST_LEN && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The record as it is stored: shown fields as sent, every other field as its digest (`null`
/// when it has no text: missing, null or blank, which change detection reads alike). A value
/// that is not an object is returned as it is (it carries no fields).
pub fn minimise(record: &Value, key: &DigestKey) -> Value {
    let Value::Object(fields) = record else { return record.clone() };
    let kept: Map<String, Value> = fields
        .iter()
        .map(|(name, value)| {
            let stored = if SHOWN_FIELDS.contains(&name.as_str()) || is_digest(value) {
                value.clone()
            } else {
                text_of(value).map_or(Value::Null, |text| Value::String(key.digest(name, &text)))
            };
            (name.clone(), stored)
        })
        .collect();
    Value::Object(kept)
}

/// Whether a stored record holds nothing but shown fields and digests.
pub fn is_minimised(record: &Value) -> bool {
    record.as_object().is_none_or(|fields| {
        fields.iter().all(|(name, v)| SHOWN_FIELDS.contains(&name.as_str()) || v.is_null() || is_digest(v))
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::domain::{ChangeType, PERSONAL_FIELDS, RecordDiff, detect_record_changes};

    fn key(n: u8) -> DigestKey {
        DigestKey::from_bytes([n; 32])
    }

    fn record() -> Value {
        json!({
            "id": "0b7d7c8e-1111-4222-8333-944455556666", "first_name": "Anna", "initials": "A.", "surname_prefix": "de",
            "surname": "Vries", "status": "active", "employee_number": 12, "dt_update": "2026-11-30T10:00:00",
            "employment": {"start_date": "2020-01-01", "salary": {"month_wage": 3000.0}},
            "date_of_birth": "1985-03-12T00:00:00", "email": "anna@example.nl", "phone_number": "+31612345678",
            "street": "Keizersgracht", "housenumber": 12, "zipcode": "1015 CJ", "city": "Amsterdam", "iban": "NL91ABNA0417164300",
            "bsn": "123456782", "something_new": {"nested": "secret"}, "gender": null, "country_code": "  ",
        })
    }

    #[test]
    fn only_shown_fields_keep_their_value_and_every_other_one_is_a_digest() {
        // Act
        let stored = minimise(&record(), &key(1));
        // Assert
        let text = stored.to_string();
        for personal in [
            "1985-03-12",
            "anna@example.nl",
            "612345678",
            "Keizersgracht",
            "1015 CJ",
            "Amsterdam",
            "NL91ABNA",
            "123456782",
            "secret",
        ] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
        for shown in SHOWN_FIELDS {
            assert_eq!(stored[shown], record()[shown], "{shown}");
        }
        assert!(is_digest(&stored["something_new"]) && is_digest(&stored["housenumber"]));
        assert_eq!((stored["gender"].clone(), stored["country_code"].clone()), (Value::Null, Value::Null));
        assert!(is_minimised(&stored) && !is_minimised(&record()));
        assert_eq!(minimise(&stored, &key(1)), stored, "minimising twice changes nothing");
    }

    #[test]
    fn a_digest_depends_on_the_key_the_field_and_the_text_as_detection_reads_it() {
        let (a, b) = (key(1), key(2));
        assert_ne!(a.digest("email", "x"), b.digest("email", "x"));
        assert_ne!(a.digest("email", "x"), a.digest("city", "x"));
        let padded = minimise(&json!({"email": "  x  ", "n": 12}), &a);
        let plain = minimise(&json!({"email": "x", "n": "12"}), &a);
        assert_eq!(padded, plain);
    }

    /// A record with each personal field maybe changed from `before`.
    fn pair(changed: &[bool]) -> (Value, Value) {
        let before = record();
        let mut after = before.clone();
        for (field, change) in PERSONAL_FIELDS.iter().zip(changed) {
            if *change {
                after[*field] = json!(format!("changed {field}"));
            }
        }
        (before, after)
    }

    fn personal_changes(before: &Value, after: &Value) -> Vec<&'static str> {
        let d = RecordDiff {
            employee_id: Uuid::from_u128(1),
            previous: Some(before),
            current: Some(after),
            version: 2,
            baseline: false,
        };
        detect_record_changes(&d)
            .into_iter()
            .filter(|c| c.change_type == ChangeType::PersonalDataChange)
            .filter_map(|c| c.field)
            .collect()
    }

    proptest! {
        #[test]
        fn detection_on_minimised_records_finds_exactly_what_it_finds_on_plain_ones(
            changed in prop::collection::vec(any::<bool>(), PERSONAL_FIELDS.len()),
        ) {
            let (before, after) = pair(&changed);
            let k = key(7);
            prop_assert_eq!(personal_changes(&minimise(&before, &k), &minimise(&after, &k)), personal_changes(&before, &after));
        }
    }
}
