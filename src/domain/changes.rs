//! Change rules (see `employes-api.md`): transitions inside employment history, and diffs
//! between two versions of an employee record.

use std::{borrow::Cow, cmp::Ordering, fmt, io::Write as _};

use chrono::{Datelike as _, NaiveDate};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::history::{History, parse_date};
use crate::employes::{PERSONAL_FIELDS, text_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    SalaryChange,
    HoursChange,
    ContractChange,
    EmployeeAdded,
    EmployeeRemoved,
    StatusChange,
    PersonalDataChange,
}

impl ChangeType {
    pub const ALL: [ChangeType; 7] = [
        ChangeType::SalaryChange,
        ChangeType::HoursChange,
        ChangeType::ContractChange,
        ChangeType::EmployeeAdded,
        ChangeType::EmployeeRemoved,
        ChangeType::StatusChange,
        ChangeType::PersonalDataChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::SalaryChange => "salary_change",
            ChangeType::HoursChange => "hours_change",
            ChangeType::ContractChange => "contract_change",
            ChangeType::EmployeeAdded => "employee_added",
            ChangeType::EmployeeRemoved => "employee_removed",
            ChangeType::StatusChange => "status_change",
            ChangeType::PersonalDataChange => "personal_data_change",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeType> {
        ChangeType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One detected change, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub employee_id: Uuid,
    pub change_type: ChangeType,
    /// Field names are fixed by the rules, so they are never allocated.
    pub field: Option<&'static str>,
    pub old_value: Option<ChangeValue>,
    pub new_value: Option<ChangeValue>,
    pub effective_date: Option<NaiveDate>,
    pub business_impact: Option<&'static str>,
    pub change_amount: Option<f64>,
    pub change_percent: Option<f64>,
    /// Distinguishes record diffs that carry no values (the record version they appeared in).
    pub discriminator: Option<String>,
}

/// Namespace for change ids (UUID v5 of the dedup key).
const CHANGE_NAMESPACE: Uuid = Uuid::from_u128(0x5d1c_4a7e_9b3f_4e21_8c6d_2f0a_7b91_e3c4);

impl Change {
    fn new(employee_id: Uuid, change_type: ChangeType) -> Change {
        Change {
            employee_id,
            change_type,
            field: None,
            old_value: None,
            new_value: None,
            effective_date: None,
            business_impact: None,
            change_amount: None,
            change_percent: None,
            discriminator: None,
        }
    }

    /// Identity of a change: SHA-256 of `employee|type|field|effective date|old|new|version`,
    /// absent parts empty (recorded keys were made from that text with `format!`). Hashed so
    /// personal values could never be read back from it. The text is put together by hand on
    /// the stack: formatting machinery cost several times the hash.
    pub fn key(&self) -> DedupKey {
        let mut text = KeyText::default();
        let mut uuid = Uuid::encode_buffer();
        text.put(self.employee_id.hyphenated().encode_lower(&mut uuid));
        text.put("|");
        text.put(self.change_type.as_str());
        text.put("|");
        text.put(self.field.unwrap_or(""));
        text.put("|");
        if let Some(date) = self.effective_date {
            write_date(&mut text, date).expect("key text takes any length");
        }
        for value in [&self.old_value, &self.new_value] {
            text.put("|");
            if let Some(value) = value {
                value.write_text(&mut text).expect("key text takes any length");
            }
        }
        text.put("|");
        text.put(self.discriminator.as_deref().unwrap_or(""));
        DedupKey(Sha256::digest(text.as_bytes()).into())
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
    /// Byte order, compared 16 bytes at a time: the changes stage sorts hundreds of thousands.
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

/// A change and its key, computed once: hashing is a large part of what a change costs, and the
/// changes stage needs the key to order its inserts, to store it and to derive the id.
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
/// index's locks in the same order. Changes detected in employee order (as the changes stage
/// walks its inputs) only need each employee's few sorted: sorting a whole session's hundreds
/// of thousands at once was a large part of a pass. Any other input gets the full sort.
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

/// A key's text: on the stack, on the heap only past 256 bytes (long free-text values).
struct KeyText {
    stack: [u8; 256],
    len: usize,
    heap: Vec<u8>,
}

impl Default for KeyText {
    fn default() -> Self {
        KeyText { stack: [0; 256], len: 0, heap: Vec::new() }
    }
}

impl KeyText {
    fn put(&mut self, s: &str) {
        let end = self.len + s.len();
        if self.heap.is_empty() && end <= self.stack.len() {
            self.stack[self.len..end].copy_from_slice(s.as_bytes());
            self.len = end;
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.stack[..self.len]);
            }
            self.heap.extend_from_slice(s.as_bytes());
        }
    }

    fn as_bytes(&self) -> &[u8] {
        if self.heap.is_empty() { &self.stack[..self.len] } else { &self.heap }
    }
}

impl fmt::Write for KeyText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s);
        Ok(())
    }
}

/// An old or new value, kept as what it is and written as text only where it is hashed or
/// stored: a `String` for each of the hundreds of thousands of numbers and periods a pass finds
/// was much of its cost.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeValue {
    Text(String),
    /// An amount, written as `format_number` writes it.
    Number(f64),
    /// A contract's period, written `start..end` (end empty when open).
    Period(NaiveDate, Option<NaiveDate>),
}

impl ChangeValue {
    fn write_text(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            ChangeValue::Text(s) => out.write_str(s),
            ChangeValue::Number(n) => write_number(out, *n),
            ChangeValue::Period(start, end) => {
                write_date(out, *start)?;
                out.write_str("..")?;
                end.map_or(Ok(()), |end| write_date(out, end))
            }
        }
    }
}

impl fmt::Display for ChangeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

/// A date as chrono's `Display` writes it (`2024-01-31`), by hand for years 0..=9999 (all
/// real ones).
fn write_date(out: &mut impl fmt::Write, date: NaiveDate) -> fmt::Result {
    let Some(year) = u32::try_from(date.year()).ok().filter(|y| *y <= 9999) else {
        return write!(out, "{date}");
    };
    let mut text = *b"0000-00-00";
    for (at, width, mut n) in [(0, 4, year), (5, 2, date.month()), (8, 2, date.day())] {
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    out.write_str(std::str::from_utf8(&text).expect("ASCII digits"))
}

/// Number as short text, rounded to cents: 2577 → "2577", 13.5 → "13.5".
pub fn format_number(n: f64) -> String {
    ChangeValue::Number(n).to_string()
}

/// `{:.2}` with trailing zeros and point trimmed. Whole numbers, nearly all wages and hours,
/// skip float formatting; the others are formatted on the stack.
fn write_number(out: &mut impl fmt::Write, n: f64) -> fmt::Result {
    // Below 2^53 every whole f64 is an exact i64; -0.0 is left to `{:.2}` ("-0").
    if n.fract() == 0.0 && n.abs() < 9e15 && !(n == 0.0 && n.is_sign_negative()) {
        return out.write_str(itoa::Buffer::new().format(n as i64));
    }
    let mut buf = [0u8; 32];
    let mut rest = &mut buf[..];
    let cents = match write!(rest, "{n:.2}") {
        Ok(()) => {
            let len = 32 - rest.len();
            Cow::Borrowed(std::str::from_utf8(&buf[..len]).expect("digits"))
        }
        Err(_) => Cow::Owned(format!("{n:.2}")), // beyond 10^28
    };
    out.write_str(cents.trim_end_matches('0').trim_end_matches('.'))
}

fn round2(n: f64) -> f64 {
    (n * 100.0).round() / 100.0
}

fn numeric_change(
    mut c: Change,
    field: &'static str,
    old: f64,
    new: f64,
    up: &'static str,
    down: &'static str,
) -> Change {
    c.field = Some(field);
    c.old_value = Some(ChangeValue::Number(old));
    c.new_value = Some(ChangeValue::Number(new));
    c.business_impact = Some(if new > old { up } else { down });
    c.change_amount = Some(round2(new - old));
    c.change_percent = (old != 0.0).then(|| round2((new - old) / old * 100.0));
    c
}

/// Transitions between consecutive periods of one employee's history.
pub fn detect_history_changes(employee_id: Uuid, history: &History) -> Vec<Change> {
    let mut out = Vec::new();
    for_each_history_change(employee_id, history, |c| out.push(c));
    out
}

/// `detect_history_changes`, handing each change to `emit`: the changes stage keys them
/// straight into its one list instead of growing a list per employee.
pub fn for_each_history_change(employee_id: Uuid, history: &History, mut emit: impl FnMut(Change)) {
    for pair in history.salary.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        // Like with like: monthly with monthly, else hourly with hourly; never across.
        let compared = match (a.month_wage, b.month_wage, a.hour_wage, b.hour_wage) {
            (Some(x), Some(y), _, _) => Some(("month_wage", x, y)),
            (_, _, Some(x), Some(y)) => Some(("hour_wage", x, y)),
            _ => None,
        };
        if let Some((field, old, new)) = compared.filter(|(_, x, y)| round2(*x) != round2(*y)) {
            let mut c = numeric_change(
                Change::new(employee_id, ChangeType::SalaryChange),
                field,
                old,
                new,
                "salary_increase",
                "salary_decrease",
            );
            c.effective_date = Some(b.start_date);
            emit(c);
        }
    }
    for pair in history.hours.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if let (Some(old), Some(new)) = (a.hours_per_week, b.hours_per_week) {
            if round2(old) != round2(new) {
                let mut c = numeric_change(
                    Change::new(employee_id, ChangeType::HoursChange),
                    "hours_per_week",
                    old,
                    new,
                    "hours_increase",
                    "hours_decrease",
                );
                c.effective_date = Some(b.start_date);
                emit(c);
            }
        }
    }
    for pair in history.contracts.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (Some(old), Some(new)) = (a.duration.as_deref(), b.duration.as_deref()) else {
            continue;
        };
        let mut c = Change::new(employee_id, ChangeType::ContractChange);
        c.effective_date = Some(b.start_date);
        if old != new {
            c.field = Some("contract_duration");
            c.old_value = Some(ChangeValue::Text(old.to_string()));
            c.new_value = Some(ChangeValue::Text(new.to_string()));
            c.business_impact = (new == "permanent").then_some("permanent_contract");
        } else if new == "fixed" && (a.start_date, a.end_date) != (b.start_date, b.end_date) {
            c.field = Some("contract_period");
            c.old_value = Some(ChangeValue::Period(a.start_date, a.end_date));
            c.new_value = Some(ChangeValue::Period(b.start_date, b.end_date));
            c.business_impact = Some("contract_renewal");
        } else {
            continue;
        }
        emit(c);
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

/// The watched fields of a record, found in one pass over it: cheaper than a map search each.
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

/// A field's text as `text_of` makes it, borrowed when the field is a string (nearly always):
/// comparing two records allocates only for the changes it finds.
fn field_text(field: Option<&Value>) -> Option<Cow<'_, str>> {
    match field? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(Cow::Borrowed),
        other => text_of(other).map(Cow::Owned),
    }
}

/// Statuses compare case-insensitively (`str::to_lowercase`; ASCII text, the usual, without
/// allocating).
fn same_status(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if a.is_ascii() && b.is_ascii() => a.eq_ignore_ascii_case(b),
        (Some(a), Some(b)) => a.to_lowercase() == b.to_lowercase(),
        (a, b) => a.is_none() && b.is_none(),
    }
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
                c.business_impact = Some("hired");
                c.effective_date = cur
                    .get("employment")
                    .and_then(|e| e.get("start_date"))
                    .and_then(Value::as_str)
                    .and_then(parse_date);
                c.discriminator = tag();
                emit(c);
            }
        }
        (Some(_), None) => {
            let mut c = Change::new(d.employee_id, ChangeType::EmployeeRemoved);
            c.business_impact = Some("terminated");
            c.discriminator = tag();
            emit(c);
        }
        (Some(prev), Some(cur)) => {
            let (prev, cur) = (watched_fields(prev), watched_fields(cur));
            let (old, new) = (field_text(prev[0]), field_text(cur[0]));
            if !same_status(old.as_deref(), new.as_deref()) {
                let mut c = Change::new(d.employee_id, ChangeType::StatusChange);
                c.field = Some("status");
                c.business_impact =
                    new.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("out of service")).then_some("terminated");
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
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn id() -> Uuid {
        Uuid::from_u128(7)
    }

    fn salary_history(wages: &[(&str, Value, Value)]) -> History {
        let periods: Vec<Value> =
            wages.iter().map(|(d, m, h)| json!({"start_date": d, "month_wage": m, "hour_wage": h})).collect();
        History::from_employments(&[json!({ "salary": periods })])
    }

    #[test]
    fn the_seed_example_gives_three_increases_with_amounts() {
        let h = salary_history(&[
            ("2022-01-01", json!(2577), json!(null)),
            ("2023-01-01", json!(2709), json!(null)),
            ("2024-01-01", json!(2777), json!(null)),
            ("2025-01-01", json!(2846), json!(null)),
        ]);
        let changes = detect_history_changes(id(), &h);
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|c| c.business_impact == Some("salary_increase")));
        assert_eq!(changes[0].change_amount, Some(132.0));
        assert_eq!(changes[0].change_percent, Some(5.12));
        assert_eq!(changes[0].old_value, Some(ChangeValue::Number(2577.0)));
        assert_eq!(changes[0].old_value.as_ref().unwrap().to_string(), "2577");
        assert_eq!(changes[0].effective_date, NaiveDate::from_ymd_opt(2023, 1, 1));
    }

    #[test]
    fn equal_wages_and_monthly_versus_hourly_are_no_change() {
        let h = salary_history(&[
            ("2022-01-01", json!(3000), json!(null)),
            ("2023-01-01", json!(3000), json!(null)),
            ("2024-01-01", json!(0), json!(19.0)),
        ]);
        assert!(detect_history_changes(id(), &h).is_empty());
    }

    #[test]
    fn hourly_wages_compare_with_hourly() {
        let h = salary_history(&[("2022-01-01", json!(null), json!(15)), ("2023-01-01", json!(null), json!(14))]);
        let c = &detect_history_changes(id(), &h)[0];
        assert_eq!(c.field, Some("hour_wage"));
        assert_eq!(c.business_impact, Some("salary_decrease"));
        assert_eq!(c.change_percent, Some(-6.67));
    }

    #[test]
    fn hours_and_contract_transitions_are_detected() {
        let h = History::from_employments(&[json!({
            "hours": [{"start_date": "2024-01-01", "hours_per_week": 30}, {"start_date": "2025-03-01", "hours_per_week": 40}],
            "contracts": [
                {"start_date": "2023-01-01", "end_date": "2023-12-31", "contract_duration": "fixed"},
                {"start_date": "2024-01-01", "end_date": "2024-12-31", "contract_duration": "fixed"},
                {"start_date": "2025-01-01", "contract_duration": "permanent"}
            ]
        })]);
        let changes = detect_history_changes(id(), &h);
        let impacts: Vec<_> = changes.iter().map(|c| c.business_impact).collect();
        assert_eq!(impacts, vec![Some("hours_increase"), Some("contract_renewal"), Some("permanent_contract")]);
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let h = salary_history(&[("2022-01-01", json!(1), json!(null)), ("2023-01-01", json!(2), json!(null))]);
        let a = detect_history_changes(id(), &h);
        let b = detect_history_changes(id(), &h);
        assert_eq!(a[0].id(), b[0].id());
        assert_ne!(a[0].id(), detect_history_changes(Uuid::from_u128(8), &h)[0].id());
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
        assert_eq!(changes[0].business_impact, Some("terminated"));
        let personal = &changes[1];
        assert_eq!(personal.field, Some("email"));
        assert_eq!((personal.old_value.as_ref(), personal.new_value.as_ref()), (None, None));
    }

    #[test]
    fn first_sight_is_added_except_in_the_baseline() {
        let cur = json!({"employment": {"start_date": "2026-12-01"}});
        let mut d = RecordDiff { employee_id: id(), previous: None, current: Some(&cur), version: 1, baseline: true };
        assert!(detect_record_changes(&d).is_empty());
        d.baseline = false;
        let c = &detect_record_changes(&d)[0];
        assert_eq!((c.change_type, c.business_impact), (ChangeType::EmployeeAdded, Some("hired")));
        assert_eq!(c.effective_date, NaiveDate::from_ymd_opt(2026, 12, 1));
    }

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
            // Up to 600 bytes: key texts past 256 bytes move to the heap.
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
        fn the_key_is_the_hash_of_the_formatted_identity(
            id in any::<u128>(),
            ty in 0..ChangeType::ALL.len(),
            field in prop::option::of(prop::sample::select(&["month_wage", "status", "email", ""][..])),
            date in prop::option::of(any_date()),
            old in prop::option::of(any_value()),
            new in prop::option::of(any_value()),
            discriminator in prop::option::of("v[0-9]{1,4}"),
        ) {
            let mut c = Change::new(Uuid::from_u128(id), ChangeType::ALL[ty]);
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

        #[test]
        fn numbers_are_written_as_trimmed_cents(
            n in prop_oneof![
                any::<f64>(),
                -1e7..1e7f64,
                (-100_000i64..100_000).prop_map(|c| c as f64 / 8.0),
                any::<i64>().prop_map(|i| i as f64),
            ],
        ) {
            let cents = format!("{n:.2}");
            prop_assert_eq!(format_number(n), cents.trim_end_matches('0').trim_end_matches('.'));
        }

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

    #[test]
    fn numbers_keep_their_text() {
        let text: Vec<String> = [2577.0, 13.5, 5.125, 0.0, -0.0, -0.001].into_iter().map(format_number).collect();
        assert_eq!(text, ["2577", "13.5", "5.12", "0", "-0", "-0"]);
    }
}
