//! Employment history as sorted period lists, parsed leniently from `/employments` JSON.

use chrono::NaiveDate;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SalaryPeriod {
    pub start_date: NaiveDate,
    pub month_wage: Option<f64>,
    pub hour_wage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HoursPeriod {
    pub start_date: NaiveDate,
    pub hours_per_week: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContractPeriod {
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub duration: Option<String>,
}

/// All periods of all employments of one employee, each list sorted by start date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub salary: Vec<SalaryPeriod>,
    pub hours: Vec<HoursPeriod>,
    pub contracts: Vec<ContractPeriod>,
}

impl History {
    /// Items without a parseable `start_date` are dropped; exact duplicates are merged.
    pub fn from_employments(employments: &[Value]) -> History {
        let mut h = History::default();
        for employment in employments {
            for p in periods(employment, "salary") {
                if let Some(start_date) = date_of(p, "start_date") {
                    h.salary.push(SalaryPeriod {
                        start_date,
                        month_wage: positive(p.get("month_wage")),
                        hour_wage: positive(p.get("hour_wage")),
                    });
                }
            }
            for p in periods(employment, "hours") {
                if let Some(start_date) = date_of(p, "start_date") {
                    h.hours.push(HoursPeriod { start_date, hours_per_week: number(p.get("hours_per_week")) });
                }
            }
            for p in periods(employment, "contracts") {
                if let Some(start_date) = date_of(p, "start_date") {
                    h.contracts.push(ContractPeriod {
                        start_date,
                        end_date: date_of(p, "end_date"),
                        duration: p.get("contract_duration").and_then(Value::as_str).map(|s| s.trim().to_lowercase()),
                    });
                }
            }
        }
        sort_dedup(&mut h.salary, |p| p.start_date);
        sort_dedup(&mut h.hours, |p| p.start_date);
        sort_dedup(&mut h.contracts, |p| p.start_date);
        h
    }

    pub fn is_empty(&self) -> bool {
        self.salary.is_empty() && self.hours.is_empty() && self.contracts.is_empty()
    }
}

/// Stable sort by start date (ties keep input order), then merge identical neighbours.
fn sort_dedup<T: PartialEq>(items: &mut Vec<T>, key: impl Fn(&T) -> NaiveDate) {
    items.sort_by_key(|p| key(p));
    items.dedup();
}

fn periods<'a>(employment: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    employment.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn date_of(v: &Value, key: &str) -> Option<NaiveDate> {
    v.get(key).and_then(Value::as_str).and_then(parse_date)
}

/// `YYYY-MM-DD`, optionally followed by a time part (`T00:00:00`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let day = s.trim().get(..10)?;
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    // 0001-01-01 is Employes' "no date" sentinel.
    (date.year_ce().1 > 1).then_some(date)
}

use chrono::Datelike as _;

fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

fn positive(v: Option<&Value>) -> Option<f64> {
    number(v).filter(|n| *n > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn periods_are_sorted_and_undated_ones_dropped() {
        let h = History::from_employments(&[json!({
            "salary": [
                {"start_date": "2025-01-01", "month_wage": 2709},
                {"start_date": "2024-01-01T00:00:00", "month_wage": "2577"},
                {"month_wage": 9999}
            ],
            "hours": "not a list",
        })]);
        assert_eq!(h.salary.len(), 2);
        assert_eq!(h.salary[0].month_wage, Some(2577.0));
        assert!(h.hours.is_empty());
    }

    #[test]
    fn sentinel_and_garbage_dates_are_not_dates() {
        assert_eq!(parse_date("0001-01-01T00:00:00"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2025-02-30"), None);
        assert!(parse_date("2025-02-28T00:00:00").is_some());
    }
}
