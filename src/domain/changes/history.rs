//! Employment history as sorted period lists, parsed leniently from `/employments` JSON.

use std::cmp::Ordering;

use chrono::{Datelike as _, NaiveDate};
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
        sort_dedup(&mut h.salary, |a, b| {
            a.start_date
                .cmp(&b.start_date)
                .then(cmp_number(a.month_wage, b.month_wage))
                .then(cmp_number(a.hour_wage, b.hour_wage))
        });
        sort_dedup(&mut h.hours, |a, b| {
            a.start_date.cmp(&b.start_date).then(cmp_number(a.hours_per_week, b.hours_per_week))
        });
        sort_dedup(&mut h.contracts, |a, b| {
            (a.start_date, a.end_date, &a.duration).cmp(&(b.start_date, b.end_date, &b.duration))
        });
        h
    }

    pub fn is_empty(&self) -> bool {
        self.salary.is_empty() && self.hours.is_empty() && self.contracts.is_empty()
    }
}

/// Sort by start date, periods starting on the same day by their values, so the order
/// Employes lists them in never changes what is detected; then merge identical neighbours.
fn sort_dedup<T: PartialEq>(items: &mut Vec<T>, order: impl Fn(&T, &T) -> Ordering) {
    items.sort_by(order);
    items.dedup();
}

/// A total order on optional numbers (none first).
fn cmp_number(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        _ => a.is_some().cmp(&b.is_some()),
    }
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
    let date = match plain_ymd(day.as_bytes()) {
        Some((y, m, d)) => NaiveDate::from_ymd_opt(y, m, d)?,
        None => NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
    };
    // 0001-01-01 is Employes' "no date" sentinel.
    (date.year_ce().1 > 1).then_some(date)
}

/// Year, month and day of exactly `DDDD-DD-DD` (what Employes sends); `None` for anything else,
/// which chrono's format parser then reads.
fn plain_ymd(s: &[u8]) -> Option<(i32, u32, u32)> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *s else { return None };
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
    digits.iter().all(u8::is_ascii_digit).then_some(())?;
    let n = |ds: &[u8]| ds.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((n(&digits[..4]) as i32, n(&digits[4..6]), n(&digits[6..])))
}

/// A number of an Employes period (a JSON number, or a string with a decimal comma or point);
/// `None` when absent, unreadable or not finite.
pub fn number(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// [`number`], when above zero (a wage of 0 is no wage).
pub fn positive(v: Option<&Value>) -> Option<f64> {
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
    fn periods_starting_on_the_same_day_come_out_in_the_same_order_whatever_the_input_order() {
        let a = json!({"start_date": "2025-01-01", "month_wage": 2709});
        let b = json!({"start_date": "2025-01-01", "month_wage": 2577});
        let one = History::from_employments(&[json!({"salary": [a, b]})]);
        let other = History::from_employments(&[json!({"salary": [b, a]})]);
        assert_eq!(one, other);
        assert_eq!(one.salary[0].month_wage, Some(2577.0));
    }

    #[test]
    fn sentinel_and_garbage_dates_are_not_dates() {
        assert_eq!(parse_date("0001-01-01T00:00:00"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date("2025-02-30"), None);
        assert!(parse_date("2025-02-28T00:00:00").is_some());
    }

    /// What `parse_date` was before its fast path: chrono's parser alone.
    fn parsed_by_chrono(s: &str) -> Option<NaiveDate> {
        let date = NaiveDate::parse_from_str(s.trim().get(..10)?, "%Y-%m-%d").ok()?;
        (date.year_ce().1 > 1).then_some(date)
    }

    proptest::proptest! {
        #[test]
        fn dates_parse_as_chrono_parses_them(
            s in proptest::prop_oneof![
                "[0-9]{4}-[0-9]{2}-[0-9]{2}(T00:00:00)?",
                "[ +0-9-]{0,4}[0-9]{0,4}-[0-9]{1,2}-[0-9 ]{1,3}",
                ".{0,14}",
            ],
        ) {
            proptest::prop_assert_eq!(parse_date(&s), parsed_by_chrono(&s));
        }
    }
}
