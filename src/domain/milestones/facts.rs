//! The employment facts milestones need, read leniently from the `/employments` payload: every
//! contract, salary and hours period with its end date, and what is wrong with the data.
//! Bad data never panics; it becomes a [`DataError`] the caller can store and show.

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::ContractDuration;
use crate::domain::parse_date;

/// One entry of an employment's `contracts[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Contract {
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    /// `None`: missing or not `fixed`/`permanent`.
    pub duration: Option<ContractDuration>,
}

impl Contract {
    /// Whether milestones may be derived from this contract: a known duration, an end date
    /// when fixed, and no end before the start.
    pub fn is_sound(&self) -> bool {
        match self.duration {
            None => false,
            Some(ContractDuration::Fixed) => self.end_date.is_some_and(|end| end >= self.start_date),
            Some(ContractDuration::Permanent) => self.end_date.is_none_or(|end| end >= self.start_date),
        }
    }

    pub fn is_fixed(&self) -> bool {
        self.duration == Some(ContractDuration::Fixed)
    }
}

/// One entry of an employment's `salary[]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Salary {
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub month_wage: Option<f64>,
    pub hour_wage: Option<f64>,
}

/// One entry of an employment's `hours[]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hours {
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub hours_per_week: Option<f64>,
}

/// Which period list a data error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PeriodKind {
    Contract,
    Salary,
    Hours,
}

/// What is wrong with one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DataProblem {
    /// `start_date` is absent or not a date; the period is ignored.
    MissingStartDate,
    /// `end_date` is before `start_date`; the period is ignored.
    EndBeforeStart,
    /// A contract whose `contract_duration` is absent or neither `fixed` nor `permanent`.
    UnknownDuration,
    /// A `fixed` contract without a (valid) `end_date`.
    MissingEndDate,
    /// A contract that starts on or before the end of an earlier one.
    OverlappingContracts,
}

/// One problem found in an employee's employment data (no wages or names in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DataError {
    pub period: PeriodKind,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub problem: DataProblem,
    /// For `overlapping_contracts`: the end date of the earlier contract it overlaps.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub overlaps_until: Option<NaiveDate>,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let date = |d: Option<NaiveDate>| d.map_or_else(|| "no date".to_owned(), |d| d.to_string());
        write!(f, "{} period starting {}: ", self.period, date(self.start_date))?;
        match self.problem {
            DataProblem::MissingStartDate => write!(f, "no valid start_date, period ignored"),
            DataProblem::EndBeforeStart => write!(f, "end_date {} is before the start", date(self.end_date)),
            DataProblem::UnknownDuration => write!(f, "contract_duration is neither fixed nor permanent"),
            DataProblem::MissingEndDate => write!(f, "a fixed contract without a valid end_date"),
            DataProblem::OverlappingContracts => {
                write!(f, "starts before an earlier contract ends ({})", date(self.overlaps_until))
            }
        }
    }
}

/// All periods of all employments of one employee, each list sorted by start date (periods
/// starting on the same day by their other values, so input order never matters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Periods {
    pub contracts: Vec<Contract>,
    pub salary: Vec<Salary>,
    pub hours: Vec<Hours>,
    pub data_errors: Vec<DataError>,
}

impl Periods {
    /// Reads the `data` items of `/employments`. Anything that is not an object or a list is
    /// skipped; undated periods and impossible dates become data errors.
    pub fn from_employments(employments: &[Value]) -> Periods {
        let mut facts = Periods::default();
        for employment in employments {
            for p in periods(employment, "contracts") {
                let [start, end, duration] = fields(p, ["start_date", "end_date", "contract_duration"]);
                let Some((start_date, end_date)) = facts.dates(PeriodKind::Contract, start, end) else { continue };
                let duration = match duration.and_then(Value::as_str).map(str::trim) {
                    Some(s) if s.eq_ignore_ascii_case("fixed") => Some(ContractDuration::Fixed),
                    Some(s) if s.eq_ignore_ascii_case("permanent") => Some(ContractDuration::Permanent),
                    _ => None,
                };
                facts.contracts.push(Contract { start_date, end_date, duration });
            }
            for p in periods(employment, "salary") {
                let [start, end, month, hour] = fields(p, ["start_date", "end_date", "month_wage", "hour_wage"]);
                let Some((start_date, end_date)) = facts.dates(PeriodKind::Salary, start, end) else { continue };
                let (month_wage, hour_wage) = (positive(month), positive(hour));
                facts.salary.push(Salary { start_date, end_date, month_wage, hour_wage });
            }
            for p in periods(employment, "hours") {
                let [start, end, per_week] = fields(p, ["start_date", "end_date", "hours_per_week"]);
                let Some((start_date, end_date)) = facts.dates(PeriodKind::Hours, start, end) else { continue };
                let hours_per_week = positive(per_week);
                facts.hours.push(Hours { start_date, end_date, hours_per_week });
            }
        }
        facts.contracts.sort_unstable();
        facts.contracts.dedup();
        facts.salary.sort_unstable_by(|a, b| {
            (a.start_date, a.end_date)
                .cmp(&(b.start_date, b.end_date))
                .then(cmp_number(a.month_wage, b.month_wage))
                .then(cmp_number(a.hour_wage, b.hour_wage))
        });
        facts.hours.sort_unstable_by(|a, b| {
            (a.start_date, a.end_date)
                .cmp(&(b.start_date, b.end_date))
                .then(cmp_number(a.hours_per_week, b.hours_per_week))
        });
        facts.check_contracts();
        facts.data_errors.sort_unstable();
        facts
    }

    /// A period's start and end, or `None` (with a data error) when it cannot be used.
    fn dates(
        &mut self,
        period: PeriodKind,
        start: Option<&Value>,
        end: Option<&Value>,
    ) -> Option<(NaiveDate, Option<NaiveDate>)> {
        let end_date = end.and_then(date);
        let Some(start_date) = start.and_then(date) else {
            self.error(period, None, end_date, DataProblem::MissingStartDate);
            return None;
        };
        Some((start_date, end_date))
    }

    /// Unknown durations, fixed contracts without an end, ends before starts, and overlaps
    /// (a contract starting on or before the latest end of the contracts before it).
    fn check_contracts(&mut self) {
        let mut latest_end: Option<NaiveDate> = None;
        for i in 0..self.contracts.len() {
            let c = self.contracts[i];
            let (start, end) = (Some(c.start_date), c.end_date);
            if end.is_some_and(|end| end < c.start_date) {
                self.error(PeriodKind::Contract, start, end, DataProblem::EndBeforeStart);
                continue;
            }
            match c.duration {
                None => self.error(PeriodKind::Contract, start, end, DataProblem::UnknownDuration),
                Some(ContractDuration::Fixed) if end.is_none() => {
                    self.error(PeriodKind::Contract, start, end, DataProblem::MissingEndDate)
                }
                Some(_) => {}
            }
            if let Some(until) = latest_end.filter(|until| c.start_date <= *until) {
                self.data_errors.push(DataError {
                    period: PeriodKind::Contract,
                    start_date: start,
                    end_date: end,
                    problem: DataProblem::OverlappingContracts,
                    overlaps_until: Some(until),
                });
            }
            latest_end = latest_end.max(end);
        }
        // Salary and hours periods only need a sane range to be looked up.
        let salary = self.salary.iter().map(|s| (PeriodKind::Salary, s.start_date, s.end_date));
        let hours = self.hours.iter().map(|h| (PeriodKind::Hours, h.start_date, h.end_date));
        let backwards: Vec<_> = salary.chain(hours).filter(|(_, s, e)| e.is_some_and(|e| e < *s)).collect();
        for (period, start, end) in backwards {
            self.error(period, Some(start), end, DataProblem::EndBeforeStart);
        }
    }

    fn error(
        &mut self,
        period: PeriodKind,
        start_date: Option<NaiveDate>,
        end_date: Option<NaiveDate>,
        problem: DataProblem,
    ) {
        self.data_errors.push(DataError { period, start_date, end_date, problem, overlaps_until: None });
    }
}

fn periods<'a>(employment: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    employment.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// The values of `keys` in one period object, read in one pass over its entries (cheaper than
/// one map lookup per key, which showed up in the bench's profile).
fn fields<'a, const N: usize>(period: &'a Value, keys: [&str; N]) -> [Option<&'a Value>; N] {
    let mut found = [None; N];
    for (key, value) in period.as_object().into_iter().flatten() {
        if let Some(i) = keys.iter().position(|k| k == key) {
            found[i] = Some(value);
        }
    }
    found
}

fn date(v: &Value) -> Option<NaiveDate> {
    v.as_str().and_then(parse_date)
}

/// A positive finite number, from a JSON number or a numeric string (`"15,50"` too).
fn positive(v: Option<&Value>) -> Option<f64> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().replace(',', ".").parse().ok()?,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(n)
}

/// A total order on optional numbers (none first).
fn cmp_number(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        _ => a.is_some().cmp(&b.is_some()),
    }
}
