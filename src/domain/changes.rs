//! Change rules (see `employes-api.md`): transitions inside employment history, and diffs
//! between two versions of an employee record.

use chrono::NaiveDate;
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
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
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

    /// Identity of a change: (employee, type, field, effective date, old, new [, version]).
    /// Hashed so personal values could never be read back from it.
    pub fn dedup_key(&self) -> String {
        let raw = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.employee_id,
            self.change_type.as_str(),
            self.field.as_deref().unwrap_or(""),
            self.effective_date.map(|d| d.to_string()).unwrap_or_default(),
            self.old_value.as_deref().unwrap_or(""),
            self.new_value.as_deref().unwrap_or(""),
            self.discriminator.as_deref().unwrap_or(""),
        );
        hex::encode(Sha256::digest(raw.as_bytes()))
    }

    /// Deterministic id: the same change always gets the same id (and `Nats-Msg-Id`).
    pub fn id(&self) -> Uuid {
        Uuid::new_v5(&CHANGE_NAMESPACE, self.dedup_key().as_bytes())
    }
}

/// Number as short text: 2577 → "2577", 13.5 → "13.5".
pub fn format_number(n: f64) -> String {
    let s = format!("{:.2}", n);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn round2(n: f64) -> f64 {
    (n * 100.0).round() / 100.0
}

fn numeric_change(mut c: Change, field: &str, old: f64, new: f64, up: &'static str, down: &'static str) -> Change {
    c.field = Some(field.to_string());
    c.old_value = Some(format_number(old));
    c.new_value = Some(format_number(new));
    c.business_impact = Some(if new > old { up } else { down });
    c.change_amount = Some(round2(new - old));
    c.change_percent = (old != 0.0).then(|| round2((new - old) / old * 100.0));
    c
}

/// Transitions between consecutive periods of one employee's history.
pub fn detect_history_changes(employee_id: Uuid, history: &History) -> Vec<Change> {
    let mut out = Vec::new();
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
            out.push(c);
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
                out.push(c);
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
            c.field = Some("contract_duration".into());
            c.old_value = Some(old.to_string());
            c.new_value = Some(new.to_string());
            c.business_impact = (new == "permanent").then_some("permanent_contract");
        } else if new == "fixed" && (a.start_date, a.end_date) != (b.start_date, b.end_date) {
            let span = |p: &super::ContractPeriod| {
                format!("{}..{}", p.start_date, p.end_date.map(|d| d.to_string()).unwrap_or_default())
            };
            c.field = Some("contract_period".into());
            c.old_value = Some(span(a));
            c.new_value = Some(span(b));
            c.business_impact = Some("contract_renewal");
        } else {
            continue;
        }
        out.push(c);
    }
    out
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

fn text(v: Option<&Value>, key: &str) -> Option<String> {
    v?.get(key).and_then(text_of)
}

/// Diffs between two versions of an employee record.
pub fn detect_record_changes(d: &RecordDiff<'_>) -> Vec<Change> {
    let mut out = Vec::new();
    let tag = Some(format!("v{}", d.version));
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
                c.discriminator = tag;
                out.push(c);
            }
        }
        (Some(_), None) => {
            let mut c = Change::new(d.employee_id, ChangeType::EmployeeRemoved);
            c.business_impact = Some("terminated");
            c.discriminator = tag;
            out.push(c);
        }
        (Some(prev), Some(cur)) => {
            let (old, new) = (text(Some(prev), "status"), text(Some(cur), "status"));
            if old.as_deref().map(str::to_lowercase) != new.as_deref().map(str::to_lowercase) {
                let mut c = Change::new(d.employee_id, ChangeType::StatusChange);
                c.field = Some("status".into());
                c.business_impact =
                    new.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("out of service")).then_some("terminated");
                c.old_value = old;
                c.new_value = new;
                c.discriminator = tag.clone();
                out.push(c);
            }
            for field in PERSONAL_FIELDS {
                if text(Some(prev), field) != text(Some(cur), field) {
                    let mut c = Change::new(d.employee_id, ChangeType::PersonalDataChange);
                    c.field = Some((*field).to_string());
                    c.discriminator = tag.clone();
                    out.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(changes[0].old_value.as_deref(), Some("2577"));
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
        assert_eq!(c.field.as_deref(), Some("hour_wage"));
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
        assert_eq!(personal.field.as_deref(), Some("email"));
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
}
