//! An employee's employment history as the employee read API shows it: the salary, hours and
//! contract periods of all their employments (each list sorted by start date, as Employes dated
//! them), and what is current today. Read leniently from the stored `/employments` JSON: a period
//! without a parseable `start_date` is left out, numbers may come as text.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::changes::{parse_date, period_number as number, positive_number as positive};

/// One salary period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SalarySpan {
    pub start_date: NaiveDate,
    /// `null` while open.
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    /// Gross wage per month (euros); `null` when the period has none (paid by the hour).
    #[schema(required = true)]
    pub month_wage: Option<f64>,
    /// Gross wage per hour (euros); `null` when the period has none.
    #[schema(required = true)]
    pub hour_wage: Option<f64>,
}

/// One period of working hours.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HoursSpan {
    pub start_date: NaiveDate,
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub hours_per_week: Option<f64>,
}

/// One contract.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContractSpan {
    pub start_date: NaiveDate,
    /// `null` for a permanent contract (or a fixed one that ends on an event).
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    /// `fixed` or `permanent` as Employes sends it (lowercased); `null` when absent.
    #[schema(required = true)]
    pub contract_duration: Option<String>,
}

/// An employee's history: every period of every employment, each list by start date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub salary: Vec<SalarySpan>,
    pub hours: Vec<HoursSpan>,
    pub contracts: Vec<ContractSpan>,
}

/// What applies today: the current contract (the one with the latest start, as the milestones
/// read it), and the hours and wage in effect (the latest period started by today; before any
/// started, the first one). Every field is `null` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Current {
    #[schema(required = true)]
    pub contract_duration: Option<String>,
    #[schema(required = true)]
    pub contract_end_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub hours_per_week: Option<f64>,
    #[schema(required = true)]
    pub month_wage: Option<f64>,
    #[schema(required = true)]
    pub hour_wage: Option<f64>,
}

impl Timeline {
    /// The periods of the `/employments` items (an array; anything else has none).
    pub fn from_employments(employments: &Value) -> Timeline {
        let mut t = Timeline::default();
        for employment in employments.as_array().into_iter().flatten() {
            for (start_date, end_date, p) in periods(employment, "salary") {
                let (month_wage, hour_wage) = (positive(p.get("month_wage")), positive(p.get("hour_wage")));
                t.salary.push(SalarySpan { start_date, end_date, month_wage, hour_wage });
            }
            for (start_date, end_date, p) in periods(employment, "hours") {
                t.hours.push(HoursSpan { start_date, end_date, hours_per_week: number(p.get("hours_per_week")) });
            }
            for (start_date, end_date, p) in periods(employment, "contracts") {
                let contract_duration = p.get("contract_duration").and_then(Value::as_str).map(duration);
                t.contracts.push(ContractSpan { start_date, end_date, contract_duration });
            }
        }
        // Stable: periods of one day keep the order Employes sent them in.
        t.salary.sort_by_key(|s| (s.start_date, s.end_date));
        t.hours.sort_by_key(|s| (s.start_date, s.end_date));
        t.contracts.sort_by_key(|s| (s.start_date, s.end_date));
        t
    }

    pub fn is_empty(&self) -> bool {
        self.salary.is_empty() && self.hours.is_empty() && self.contracts.is_empty()
    }

    /// What applies on `today`; `None` when the history has no period at all.
    pub fn current(&self, today: NaiveDate) -> Option<Current> {
        if self.is_empty() {
            return None;
        }
        let contract = self.contracts.last();
        let hours = in_effect(&self.hours, |h| h.start_date, today);
        let salary = in_effect(&self.salary, |s| s.start_date, today);
        Some(Current {
            contract_duration: contract.and_then(|c| c.contract_duration.clone()),
            contract_end_date: contract.and_then(|c| c.end_date),
            hours_per_week: hours.and_then(|h| h.hours_per_week),
            month_wage: salary.and_then(|s| s.month_wage),
            hour_wage: salary.and_then(|s| s.hour_wage),
        })
    }
}

impl Current {
    /// What an employee record's embedded `employment` says (for employees whose history is not
    /// stored); `None` when it says nothing.
    pub fn from_employment(employment: &Value) -> Option<Current> {
        let contract = employment.get("contract");
        let salary = employment.get("salary");
        let current = Current {
            contract_duration: contract.and_then(|c| c.get("contract_duration")).and_then(Value::as_str).map(duration),
            contract_end_date: contract.and_then(|c| c.get("end_date")).and_then(Value::as_str).and_then(parse_date),
            hours_per_week: number(contract.and_then(|c| c.get("hours_per_week"))),
            month_wage: positive(salary.and_then(|s| s.get("month_wage"))),
            hour_wage: positive(salary.and_then(|s| s.get("hour_wage"))),
        };
        (current != Current::default()).then_some(current)
    }
}

/// The latest of `items` (sorted by start) started by `today`, else the first.
fn in_effect<T>(items: &[T], start: impl Fn(&T) -> NaiveDate, today: NaiveDate) -> Option<&T> {
    items.iter().rev().find(|i| start(i) <= today).or(items.first())
}

fn duration(text: &str) -> String {
    text.trim().to_lowercase()
}

/// The dated items of `employment[key]`: start, end and the item.
fn periods<'a>(employment: &'a Value, key: &str) -> impl Iterator<Item = (NaiveDate, Option<NaiveDate>, &'a Value)> {
    employment.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(|p| {
        let date = |k: &str| p.get(k).and_then(Value::as_str).and_then(parse_date);
        Some((date("start_date")?, date("end_date"), p))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_employment_contributes_its_dated_periods_sorted_by_start() {
        // Arrange
        let employments = json!([
            {"salary": [{"start_date": "2025-01-01", "end_date": null, "month_wage": 2709, "hour_wage": 15.64},
                        {"start_date": "2024-01-01T00:00:00", "end_date": "2024-12-31", "month_wage": "2577,50"},
                        {"month_wage": 9999}],
             "hours": [{"start_date": "2024-01-01", "end_date": null, "hours_per_week": 40}],
             "contracts": [{"start_date": "2024-01-01", "end_date": "2024-12-31", "contract_duration": "Fixed"}]},
            {"contracts": [{"start_date": "2022-03-01", "end_date": "2022-08-31", "contract_duration": "fixed"}],
             "hours": "not a list"}
        ]);
        // Act
        let t = Timeline::from_employments(&employments);
        // Assert
        assert_eq!(
            t.salary,
            [
                SalarySpan {
                    start_date: d("2024-01-01"),
                    end_date: Some(d("2024-12-31")),
                    month_wage: Some(2577.5),
                    hour_wage: None
                },
                SalarySpan {
                    start_date: d("2025-01-01"),
                    end_date: None,
                    month_wage: Some(2709.0),
                    hour_wage: Some(15.64)
                },
            ]
        );
        assert_eq!(t.hours.len(), 1);
        let starts: Vec<NaiveDate> = t.contracts.iter().map(|c| c.start_date).collect();
        assert_eq!(starts, [d("2022-03-01"), d("2024-01-01")]);
        assert_eq!(t.contracts[1].contract_duration.as_deref(), Some("fixed"));
        assert!(Timeline::from_employments(&json!({"salary": []})).is_empty());
    }

    #[test]
    fn current_is_the_latest_contract_and_the_hours_and_wage_in_effect_today() {
        // Arrange
        let employments = json!([{
            "salary": [{"start_date": "2025-01-01", "month_wage": 3000},
                       {"start_date": "2027-01-01", "month_wage": 3200}],
            "hours": [{"start_date": "2026-06-01", "hours_per_week": 32}],
            "contracts": [{"start_date": "2025-01-01", "end_date": "2025-12-31", "contract_duration": "fixed"},
                          {"start_date": "2026-01-01", "contract_duration": "permanent"}]
        }]);
        let t = Timeline::from_employments(&employments);
        // Act
        let now = t.current(d("2026-03-01")).unwrap();
        let later = t.current(d("2027-01-01")).unwrap();
        // Assert
        assert_eq!(
            now,
            Current {
                contract_duration: Some("permanent".into()),
                contract_end_date: None,
                hours_per_week: Some(32.0),
                month_wage: Some(3000.0),
                hour_wage: None
            },
            "the hours not started yet are the only ones"
        );
        assert_eq!(later.month_wage, Some(3200.0), "the raise applies from its date");
        assert_eq!(Timeline::default().current(d("2026-03-01")), None);
    }

    #[test]
    fn a_record_without_history_says_what_its_embedded_employment_says() {
        // Arrange
        let employment = json!({
            "contract": {"start_date": "2026-01-01", "end_date": "2026-12-31T00:00:00", "hours_per_week": 24},
            "salary": {"month_wage": 2100.5, "hour_wage": null}
        });
        // Act
        let current = Current::from_employment(&employment).unwrap();
        // Assert
        assert_eq!(current.contract_end_date, Some(d("2026-12-31")));
        assert_eq!((current.hours_per_week, current.month_wage, current.hour_wage), (Some(24.0), Some(2100.5), None));
        assert_eq!(current.contract_duration, None);
        assert_eq!(Current::from_employment(&json!(null)), None);
        assert_eq!(Current::from_employment(&json!({"contract": {}})), None);
    }
}
