//! Changes inside one employee's employment history: transitions between consecutive salary,
//! hours and contract periods.

use uuid::Uuid;

use super::{
    history::History,
    types::{BusinessImpact, Change, ChangeType},
    value::ChangeValue,
};

fn round2(n: f64) -> f64 {
    (n * 100.0).round() / 100.0
}

/// A change of a number, with its amount and percentage (none from zero) rounded to cents.
fn numeric_change(
    mut c: Change,
    field: &'static str,
    old: f64,
    new: f64,
    up: BusinessImpact,
    down: BusinessImpact,
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

/// `detect_history_changes`, handing each change to `emit` (the changes stage keys each one
/// into its batch as it comes).
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
                BusinessImpact::SalaryIncrease,
                BusinessImpact::SalaryDecrease,
            );
            c.effective_date = Some(b.start_date);
            emit(c);
        }
    }
    for pair in history.hours.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if let (Some(old), Some(new)) = (a.hours_per_week, b.hours_per_week)
            && round2(old) != round2(new)
        {
            let mut c = numeric_change(
                Change::new(employee_id, ChangeType::HoursChange),
                "hours_per_week",
                old,
                new,
                BusinessImpact::HoursIncrease,
                BusinessImpact::HoursDecrease,
            );
            c.effective_date = Some(b.start_date);
            emit(c);
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
            c.business_impact = (new == "permanent").then_some(BusinessImpact::PermanentContract);
        } else if new == "fixed" && (a.start_date, a.end_date) != (b.start_date, b.end_date) {
            c.field = Some("contract_period");
            c.old_value = Some(ChangeValue::Period(a.start_date, a.end_date));
            c.new_value = Some(ChangeValue::Period(b.start_date, b.end_date));
            c.business_impact = Some(BusinessImpact::ContractRenewal);
        } else {
            continue;
        }
        emit(c);
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::{Value, json};

    use super::*;
    use BusinessImpact::*;

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
        assert!(changes.iter().all(|c| c.business_impact == Some(SalaryIncrease)));
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
        assert_eq!(c.business_impact, Some(SalaryDecrease));
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
        assert_eq!(impacts, vec![Some(HoursIncrease), Some(ContractRenewal), Some(PermanentContract)]);
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let h = salary_history(&[("2022-01-01", json!(1), json!(null)), ("2023-01-01", json!(2), json!(null))]);
        let a = detect_history_changes(id(), &h);
        let b = detect_history_changes(id(), &h);
        assert_eq!(a[0].id(), b[0].id());
        assert_ne!(a[0].id(), detect_history_changes(Uuid::from_u128(8), &h)[0].id());
    }
}
