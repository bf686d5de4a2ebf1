//! Changes between two versions of one employee record: hired, removed, status, and personal
//! fields (reported by name only, never by value).

use std::borrow::Cow;

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use super::{
    history::parse_date,
    types::{BusinessImpact, Change, ChangeType},
    value::ChangeValue,
};

/// Personal fields: a change of one of these is reported by name only, never by value.
pub const PERSONAL_FIELDS: &[&str] = &[
    "first_name",
    "surname",
    "surname_prefix",
    "initials",
    "gender",
    "date_of_birth",
    "email",
    "phone_number",
    "street",
    "housenumber",
    "zipcode",
    "city",
    "country_code",
    "iban",
];

/// A record field as text: strings trimmed, other scalars as JSON writes them, objects and
/// arrays as compact JSON; `None` for null and for empty or blank strings.
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Two versions of one employee record (either may be absent).
#[derive(Debug, Clone)]
pub struct RecordDiff<'a> {
    pub employee_id: Uuid,
    /// The version this session superseded; `None` = first time seen.
    pub previous: Option<&'a Value>,
    /// The version this session stored; `None` = gone upstream.
    pub current: Option<&'a Value>,
    /// The version number that identifies this diff (current version, or last one when removed).
    pub version: i32,
    /// The company's first sync: no `employee_added` for employees seen for the first time.
    pub baseline: bool,
}

/// The fields a record diff compares: `status`, then the personal ones.
const WATCHED: usize = 1 + PERSONAL_FIELDS.len();

/// The watched fields of a record (slot 0 `status`, then `PERSONAL_FIELDS` in order), found in
/// one pass over it.
fn watched_fields(record: &Value) -> [Option<&Value>; WATCHED] {
    let mut found = [None; WATCHED];
    for (key, value) in record.as_object().into_iter().flatten() {
        let slot = if key == "status" { Some(0) } else { PERSONAL_FIELDS.iter().position(|f| f == key).map(|i| i + 1) };
        if let Some(i) = slot {
            found[i] = Some(value);
        }
    }
    found
}

/// A field's text as `text_of` makes it, borrowed when the field is a string: comparing two
/// records allocates only for the changes it finds.
fn field_text(field: Option<&Value>) -> Option<Cow<'_, str>> {
    match field? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(Cow::Borrowed),
        other => text_of(other).map(Cow::Owned),
    }
}

/// Statuses compare case-insensitively, as `str::to_lowercase` makes them (ASCII text without
/// allocating).
fn same_status(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if a.is_ascii() && b.is_ascii() => a.eq_ignore_ascii_case(b),
        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// A date of the record's embedded `employment` (`start_date`, `end_date`).
fn employment_date(record: &Value, field: &str) -> Option<NaiveDate> {
    record.get("employment").and_then(|e| e.get(field)).and_then(Value::as_str).and_then(parse_date)
}

/// Diffs between two versions of an employee record.
pub fn detect_record_changes(d: &RecordDiff<'_>) -> Vec<Change> {
    let mut out = Vec::new();
    for_each_record_change(d, |c| out.push(c));
    out
}

/// `detect_record_changes`, handing each change to `emit` (see `for_each_history_change`).
pub fn for_each_record_change(d: &RecordDiff<'_>, mut emit: impl FnMut(Change)) {
    let tag = || Some(format!("v{}", d.version));
    match (d.previous, d.current) {
        (None, None) => {}
        (None, Some(cur)) => {
            if !d.baseline {
                let mut c = Change::new(d.employee_id, ChangeType::EmployeeAdded);
                c.business_impact = Some(BusinessImpact::Hired);
                c.effective_date = employment_date(cur, "start_date");
                c.discriminator = tag();
                emit(c);
            }
        }
        (Some(prev), None) => {
            let mut c = Change::new(d.employee_id, ChangeType::EmployeeRemoved);
            c.business_impact = Some(BusinessImpact::Terminated);
            c.effective_date = employment_date(prev, "end_date");
            c.discriminator = tag();
            emit(c);
        }
        (Some(prev), Some(cur)) => {
            let cur_record = cur;
            let (prev, cur) = (watched_fields(prev), watched_fields(cur));
            let (old, new) = (field_text(prev[0]), field_text(cur[0]));
            if !same_status(old.as_deref(), new.as_deref()) {
                let mut c = Change::new(d.employee_id, ChangeType::StatusChange);
                c.field = Some("status");
                c.business_impact = new
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("out of service"))
                    .then_some(BusinessImpact::Terminated);
                // A termination takes effect on the employment's last day, when the record says it.
                if c.business_impact.is_some() {
                    c.effective_date = employment_date(cur_record, "end_date");
                }
                c.old_value = old.map(|s| ChangeValue::Text(s.into_owned()));
                c.new_value = new.map(|s| ChangeValue::Text(s.into_owned()));
                c.discriminator = tag();
                emit(c);
            }
            for (i, field) in PERSONAL_FIELDS.iter().enumerate() {
                if field_text(prev[i + 1]) != field_text(cur[i + 1]) {
                    let mut c = Change::new(d.employee_id, ChangeType::PersonalDataChange);
                    c.field = Some(field);
                    c.discriminator = tag();
                    emit(c);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn id() -> Uuid {
        Uuid::from_u128(7)
    }

    #[test]
    fn record_diffs_name_personal_fields_without_values() {
        let prev = json!({"status": "active", "email": "a@example.nl", "dt_update": "1", "yearly_wage": 1});
        let cur = json!({"status": "out of service", "email": "b@example.nl", "dt_update": "2", "yearly_wage": 2});
        let changes = detect_record_changes(&RecordDiff {
            employee_id: id(),
            previous: Some(&prev),
            current: Some(&cur),
            version: 2,
            baseline: false,
        });
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].business_impact, Some(BusinessImpact::Terminated));
        let personal = &changes[1];
        assert_eq!(personal.field, Some("email"));
        assert_eq!((personal.old_value.as_ref(), personal.new_value.as_ref()), (None, None));
    }

    #[test]
    fn a_termination_takes_effect_on_the_employments_end_date() {
        // Arrange
        let prev = json!({"status": "active", "employment": {"start_date": "2024-01-01", "end_date": null}});
        let cur =
            json!({"status": "out of service", "employment": {"start_date": "2024-01-01", "end_date": "2026-11-30"}});
        let diff = |previous, current| RecordDiff { employee_id: id(), previous, current, version: 2, baseline: false };
        // Act
        let left = detect_record_changes(&diff(Some(&prev), Some(&cur)));
        let removed = detect_record_changes(&diff(Some(&cur), None));
        let back = detect_record_changes(&diff(Some(&cur), Some(&prev)));
        // Assert
        assert_eq!(
            (left[0].change_type, left[0].effective_date),
            (ChangeType::StatusChange, NaiveDate::from_ymd_opt(2026, 11, 30))
        );
        assert_eq!(
            (removed[0].change_type, removed[0].effective_date),
            (ChangeType::EmployeeRemoved, NaiveDate::from_ymd_opt(2026, 11, 30))
        );
        assert_eq!(
            (back[0].business_impact, back[0].effective_date),
            (None, None),
            "only a termination gets the end date"
        );
    }

    #[test]
    fn first_sight_is_added_except_in_the_baseline() {
        let cur = json!({"employment": {"start_date": "2026-12-01"}});
        let mut d = RecordDiff { employee_id: id(), previous: None, current: Some(&cur), version: 1, baseline: true };
        assert!(detect_record_changes(&d).is_empty());
        d.baseline = false;
        let c = &detect_record_changes(&d)[0];
        assert_eq!((c.change_type, c.business_impact), (ChangeType::EmployeeAdded, Some(BusinessImpact::Hired)));
        assert_eq!(c.effective_date, NaiveDate::from_ymd_opt(2026, 12, 1));
    }

    fn any_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[ a-z0-9]{0,4}".prop_map(Value::String),
            ".{0,8}".prop_map(Value::String),
            Just(json!([1, " x "])),
            Just(json!({"k": "v"})),
        ]
    }

    proptest! {
        #[test]
        fn field_text_is_text_of(record in prop::collection::btree_map("[ab]", any_leaf(), 0..3)) {
            let record = Value::Object(record.into_iter().collect());
            for key in ["a", "b"] {
                prop_assert_eq!(field_text(record.get(key)).map(Cow::into_owned), record.get(key).and_then(text_of));
            }
        }

        #[test]
        fn statuses_compare_by_their_lowercase(
            a in prop::option::of("[aA Kk\u{212a}σςΣ]{0,3}"),
            b in prop::option::of("[aA Kk\u{212a}σςΣ]{0,3}"),
        ) {
            let lower = |s: &Option<String>| s.as_deref().map(str::to_lowercase);
            prop_assert_eq!(same_status(a.as_deref(), b.as_deref()), lower(&a) == lower(&b));
        }
    }
}
