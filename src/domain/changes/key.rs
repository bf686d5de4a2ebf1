//! A change's identity: its dedup key (SHA-256 of what the change is) and the id derived from it.
//! The same change always gets the same key and id, so recording and publishing it again is a
//! no-op; ids of changes already recorded must never move.

use std::{cmp::Ordering, fmt};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{types::Change, value::write_date};

/// Namespace for change ids (UUID v5 of the dedup key's hex text).
const CHANGE_NAMESPACE: Uuid = Uuid::from_u128(0x5d1c_4a7e_9b3f_4e21_8c6d_2f0a_7b91_e3c4);

/// Text written straight into a SHA-256 state.
struct Hasher(Sha256);

impl fmt::Write for Hasher {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

impl Change {
    /// Identity of a change: SHA-256 of the text `employee|type|field|effective date|old|new|version`,
    /// absent parts empty, the employee as a lower-case hyphenated UUID, the date as `YYYY-MM-DD`
    /// and values as `ChangeValue` writes them. The pieces go into the hasher one by one; the
    /// bytes hashed are exactly that text. Hashed so personal values can never be read back.
    pub fn key(&self) -> DedupKey {
        let mut h = Hasher(Sha256::new());
        let mut uuid = Uuid::encode_buffer();
        for piece in [self.employee_id.hyphenated().encode_lower(&mut uuid), "|", self.change_type.as_str(), "|"] {
            h.0.update(piece);
        }
        h.0.update(self.field.unwrap_or(""));
        h.0.update("|");
        if let Some(date) = self.effective_date {
            write_date(&mut h, date).expect("the hasher takes any text");
        }
        for value in [&self.old_value, &self.new_value] {
            h.0.update("|");
            if let Some(value) = value {
                value.write_text(&mut h).expect("the hasher takes any text");
            }
        }
        h.0.update("|");
        h.0.update(self.discriminator.as_deref().unwrap_or(""));
        DedupKey(h.0.finalize().into())
    }

    /// The key as stored in `changes.dedup_key` (hex).
    pub fn dedup_key(&self) -> String {
        self.key().to_hex()
    }

    /// Deterministic id: the same change always gets the same id (and `Nats-Msg-Id`).
    pub fn id(&self) -> Uuid {
        self.key().id()
    }

    /// This change with its key computed once, for sorting and storing.
    pub fn keyed(self) -> KeyedChange {
        KeyedChange { key: self.key(), change: self }
    }
}

/// A change's dedup key: the SHA-256 digest itself. Ordered like its hex text (hex keeps the
/// byte order), hex-encoded only where it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupKey([u8; 32]);

impl Ord for DedupKey {
    /// Byte order, compared as two 128-bit numbers.
    fn cmp(&self, other: &Self) -> Ordering {
        self.halves().cmp(&other.halves())
    }
}

impl PartialOrd for DedupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl DedupKey {
    /// The digest as two big-endian numbers, which order like its bytes.
    fn halves(&self) -> (u128, u128) {
        let (hi, lo) = self.0.split_at(16);
        (u128::from_be_bytes(hi.try_into().unwrap()), u128::from_be_bytes(lo.try_into().unwrap()))
    }

    /// The text of `changes.dedup_key`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// UUID v5 of the hex text (what ids were always derived from).
    pub fn id(&self) -> Uuid {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).expect("64 bytes hold 32 in hex");
        Uuid::new_v5(&CHANGE_NAMESPACE, &text)
    }
}

/// A change and its key, computed once: the changes stage orders its inserts by the key,
/// stores it and derives the id from it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedChange {
    key: DedupKey,
    change: Change,
}

impl KeyedChange {
    pub fn key(&self) -> DedupKey {
        self.key
    }

    pub fn id(&self) -> Uuid {
        self.key.id()
    }

    pub fn change(&self) -> &Change {
        &self.change
    }
}

/// Puts changes in insert order: by employee, then key, so concurrent sessions take the unique
/// index's locks in the same order. Changes already in employee order (as the changes stage
/// detects them) are sorted one employee at a time; any other input gets the full sort.
pub fn sort_for_insert(changes: &mut [KeyedChange]) {
    let employee = |c: &KeyedChange| c.change.employee_id;
    if changes.is_sorted_by_key(employee) {
        for one_employee in changes.chunk_by_mut(|a, b| employee(a) == employee(b)) {
            one_employee.sort_unstable_by_key(KeyedChange::key);
        }
    } else {
        changes.sort_unstable_by_key(|c| (employee(c), c.key));
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike as _, NaiveDate};
    use proptest::prelude::*;
    use serde_json::json;
    use strum::VariantArray as _;

    use super::*;
    use crate::domain::changes::{
        ChangeType, ChangeValue, History, RecordDiff, detect_history_changes, detect_record_changes,
    };

    /// Keys and ids of changes already recorded in deployed databases. Computed with the original
    /// `hex(SHA-256(format!("{}|{}|{}|{}|{}|{}|{}", ...)))` code and checked independently; any
    /// drift here would record (and publish) every known change a second time.
    #[test]
    fn keys_and_ids_match_the_ones_already_recorded() {
        let emp = Uuid::parse_str("3f2a10b5-6c4d-4e8f-9a01-23456789abcd").unwrap();
        let history = History::from_employments(&[json!({
            "salary": [
                {"start_date": "2022-01-01", "month_wage": 2577},
                {"start_date": "2023-01-01", "month_wage": 2709},
                {"start_date": "2024-01-01", "month_wage": null, "hour_wage": 13.5},
                {"start_date": "2025-01-01", "month_wage": null, "hour_wage": 14.125}
            ],
            "contracts": [
                {"start_date": "2023-01-01", "end_date": "2023-12-31", "contract_duration": "fixed"},
                {"start_date": "2024-01-01", "end_date": "2024-12-31", "contract_duration": "fixed"}
            ]
        })]);
        let mut all = detect_history_changes(emp, &history);
        let prev = json!({"status": "Active", "email": "a@example.nl"});
        let cur = json!({"status": "out of service", "email": "b@example.nl"});
        let added = json!({"employment": {"start_date": "2026-12-01T00:00:00"}});
        let diff =
            |previous, current, version| RecordDiff { employee_id: emp, previous, current, version, baseline: false };
        all.extend(detect_record_changes(&diff(Some(&prev), Some(&cur), 2)));
        all.extend(detect_record_changes(&diff(Some(&prev), None, 5)));
        all.extend(detect_record_changes(&diff(None, Some(&added), 1)));
        let got: Vec<(String, String)> = all.iter().map(|c| (c.dedup_key(), c.id().to_string())).collect();
        let want = [
            // salary_change|month_wage|2023-01-01|2577|2709|
            (
                "ea5f1d8b9e30d7403fd05d87cfd6b6817a3c495df346304201029f28e8246ee6",
                "fe4af9ce-e80c-5c02-8fa2-d57abece15ca",
            ),
            // salary_change|hour_wage|2025-01-01|13.5|14.12|
            (
                "9e6a9af865c80a95e62147c27915573124986f8f86f10a8be5a2c05adbefddeb",
                "f06ee615-1ba8-5221-a50f-2d8b7f754ca1",
            ),
            // contract_change|contract_period|2024-01-01|2023-01-01..2023-12-31|2024-01-01..2024-12-31|
            (
                "3ea3194ca4883ef3806b50edf5afea3d34f8f04f55d56bad3b56a4602f9f7f3b",
                "5fb14918-6c0b-58aa-a255-a8e2cd8ee2e2",
            ),
            // status_change|status||Active|out of service|v2
            (
                "0fdede83763dc0d86a631f6c3d2e2771b9f073f0e1822c0b00b883f33b989966",
                "8e4a9c58-84a0-5753-80d0-a3f31a132d46",
            ),
            // personal_data_change|email||||v2
            (
                "1d18505d951ad644af095f8a1083696bc72737743503a51e12d322c4179cc2e4",
                "fea949c4-361c-54cc-9b62-cc9d92dfc4cd",
            ),
            // employee_removed|||||v5
            (
                "65a658d84d5b814dfdb648e7072a27210616be0190d2666b8525844f1d010962",
                "b54e90a3-62c5-57ff-809d-7645b8a4ebda",
            ),
            // employee_added|||2026-12-01|||v1
            (
                "95485b52245970def101c1480760b27fbf68f15a1fbe061a0fd5ced9c1ac1c00",
                "68f0b538-9998-5824-b4e2-5fb30e002cee",
            ),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(k, id)| (k.to_string(), id.to_string())).collect();
        assert_eq!(got, want);
    }

    /// The key as it was computed before values stayed typed and text went straight into the
    /// hash: from a formatted string, with the values' text given (`old_text`, `new_text`).
    fn formatted_key(c: &Change, old_text: Option<&str>, new_text: Option<&str>) -> String {
        let raw = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            c.employee_id,
            c.change_type.as_str(),
            c.field.unwrap_or(""),
            c.effective_date.map(|d| d.to_string()).unwrap_or_default(),
            old_text.unwrap_or(""),
            new_text.unwrap_or(""),
            c.discriminator.as_deref().unwrap_or(""),
        );
        hex::encode(Sha256::digest(raw.as_bytes()))
    }

    /// A value and its text as the code before `ChangeValue` made it (`format_number` was
    /// `{:.2}` trimmed, periods `format!("{}..{}")`).
    fn any_value() -> impl Strategy<Value = (ChangeValue, String)> {
        let number = prop_oneof![any::<f64>(), -1e6..1e6f64, (0..1_000_000i64).prop_map(|c| c as f64 / 8.0)];
        prop_oneof![
            // Up to 600 bytes of free text.
            ".{0,150}".prop_map(|s| (ChangeValue::Text(s.clone()), s)),
            number.prop_map(|n| {
                let cents = format!("{:.2}", n);
                (ChangeValue::Number(n), cents.trim_end_matches('0').trim_end_matches('.').to_string())
            }),
            (any_date(), prop::option::of(any_date())).prop_map(|(a, b)| {
                let text = format!("{}..{}", a, b.map(|d| d.to_string()).unwrap_or_default());
                (ChangeValue::Period(a, b), text)
            }),
        ]
    }

    /// Any date chrono has, mostly real ones (1970..=9999).
    fn any_date() -> impl Strategy<Value = NaiveDate> {
        let (min, max) = (NaiveDate::MIN.num_days_from_ce(), NaiveDate::MAX.num_days_from_ce());
        prop_oneof![719_163..=3_652_059, min..=max].prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap())
    }

    proptest! {
        #[test]
        fn the_key_is_the_hash_of_the_formatted_identity(
            id in any::<u128>(),
            ty in 0..ChangeType::VARIANTS.len(),
            field in prop::option::of(prop::sample::select(&["month_wage", "status", "email", ""][..])),
            date in prop::option::of(any_date()),
            old in prop::option::of(any_value()),
            new in prop::option::of(any_value()),
            discriminator in prop::option::of("v[0-9]{1,4}"),
        ) {
            let mut c = Change::new(Uuid::from_u128(id), ChangeType::VARIANTS[ty]);
            let (old_text, new_text) = (old.as_ref().map(|v| v.1.clone()), new.as_ref().map(|v| v.1.clone()));
            (c.field, c.effective_date, c.discriminator) = (field, date, discriminator);
            (c.old_value, c.new_value) = (old.map(|v| v.0), new.map(|v| v.0));
            let hex = formatted_key(&c, old_text.as_deref(), new_text.as_deref());
            prop_assert_eq!(c.id(), Uuid::new_v5(&CHANGE_NAMESPACE, hex.as_bytes()));
            prop_assert_eq!(c.clone().keyed().key().to_hex(), hex.clone());
            prop_assert_eq!(c.dedup_key(), hex);
        }

        #[test]
        fn keys_order_like_their_hex_text(a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), common in 0usize..32) {
            let mut b = b;
            b[..common].copy_from_slice(&a[..common]);
            let (a, b) = (DedupKey(a), DedupKey(b));
            prop_assert_eq!(a.cmp(&b), a.to_hex().cmp(&b.to_hex()));
        }

        #[test]
        fn insert_order_is_by_employee_then_key(
            changes in prop::collection::vec((0u128..4, any::<[u8; 32]>()), 0..40),
            grouped in any::<bool>(),
        ) {
            let mut changes: Vec<KeyedChange> = changes
                .into_iter()
                .map(|(employee, key)| KeyedChange {
                    key: DedupKey(key),
                    change: Change::new(Uuid::from_u128(employee), ChangeType::SalaryChange),
                })
                .collect();
            if grouped {
                changes.sort_by_key(|c| c.change.employee_id);
            }
            let mut want: Vec<(Uuid, DedupKey)> = changes.iter().map(|c| (c.change.employee_id, c.key)).collect();
            want.sort();
            sort_for_insert(&mut changes);
            prop_assert_eq!(changes.iter().map(|c| (c.change.employee_id, c.key)).collect::<Vec<_>>(), want);
        }
    }
}
