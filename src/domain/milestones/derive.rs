//! Derivation: what the milestone rules (README, "Milestones") say about one employee, from the
//! contracts, wages and hours in their employment history and their recorded changes. It does
//! not depend on today: the same facts always give the same milestones.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::calendar::{add_months, interval_at_most, period_end, sub_months};
use super::facts::{Contract, DataError, Periods};
use super::types::{
    Anchor, ChainDetails, ChainReason, ChangeDetails, ContractDuration, ContractRef, Details, EffectiveChangeType,
    ExceededDetails, Milestone, MilestoneKey, MilestoneKind, NoDetails, NoticeDetails,
};

/// A fixed-term contract of at least this many months carries the notice obligation (BW 7:668).
const NOTICE_MIN_MONTHS: u32 = 6;
/// The notice is due this many months before the contract ends (BW 7:668).
const NOTICE_MONTHS_BEFORE: u32 = 1;

/// The chain rule's numbers for one company (BW 7:668a; a collective agreement may deviate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainSettings {
    /// `chain_max_contracts`: fixed contracts a chain may hold (3).
    pub max_contracts: u32,
    /// `chain_max_months`: months a chain may span (36).
    pub max_months: u32,
    /// `chain_gap_months`: the longest interval, in months, that still continues a chain (6).
    pub gap_months: u32,
}

impl Default for ChainSettings {
    fn default() -> Self {
        ChainSettings { max_contracts: 3, max_months: 36, gap_months: 6 }
    }
}

impl ChainSettings {
    /// The contract name of the first setting out of range, if any.
    pub fn invalid_field(&self) -> Option<&'static str> {
        if !(1..=100).contains(&self.max_contracts) {
            Some("chain_max_contracts")
        } else if !(1..=1200).contains(&self.max_months) {
            Some("chain_max_months")
        } else if self.gap_months > 120 {
            Some("chain_gap_months")
        } else {
            None
        }
    }
}

/// A recorded salary, hours or contract change, as the changes table holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedChange {
    pub change_id: Uuid,
    pub change_type: EffectiveChangeType,
    pub effective_date: Option<NaiveDate>,
    /// The calendar day (in `TIMEZONE`) the change was recorded.
    pub detected_on: NaiveDate,
}

/// Everything derivation reads about one employee.
#[derive(Debug, Clone, Copy)]
pub struct EmployeeFacts<'a> {
    pub company_id: Uuid,
    pub employee_id: Uuid,
    /// The record's `status` is `out of service`.
    pub out_of_service: bool,
    /// The `data` items of `/employments`, as stored.
    pub employments: &'a [Value],
    pub changes: &'a [RecordedChange],
}

/// What the rules say about one employee now.
#[derive(Debug, Clone, PartialEq)]
pub struct Derivation {
    pub out_of_service: bool,
    /// Sorted by key; at most one per key.
    pub milestones: Vec<Milestone>,
    /// Problems in the employment data, sorted; the milestones of a contract with a problem
    /// are not derived.
    pub data_errors: Vec<DataError>,
}

/// Derives every milestone of one employee. Never panics, whatever the data.
pub fn derive(employee: &EmployeeFacts<'_>, settings: &ChainSettings) -> Derivation {
    let facts = Periods::from_employments(employee.employments);
    let key = |kind, anchor| MilestoneKey {
        company_id: employee.company_id,
        employee_id: employee.employee_id,
        kind,
        anchor,
    };
    let mut milestones = Vec::new();

    // The current contract is the one with the latest start date; only a sound fixed one has an end.
    let current = facts.contracts.last().filter(|c| c.is_fixed() && c.is_sound());
    if let Some((current, end)) = current.and_then(|c| Some((c, c.end_date?))) {
        let contract = Some(ContractRef {
            start_date: current.start_date,
            end_date: current.end_date,
            contract_duration: ContractDuration::Fixed,
        });
        let anchor = Anchor::ContractStart(current.start_date);
        if !employee.out_of_service {
            let details = Details::ContractEnding(NoDetails {});
            milestones.push(Milestone {
                key: key(MilestoneKind::ContractEnding, anchor),
                due_date: end,
                contract,
                details,
            });
            if let Some(due_date) = notice_date(current) {
                let details = Details::NoticeDue(NoticeDetails { max_compensation: month_wage_on(&facts, end) });
                milestones.push(Milestone { key: key(MilestoneKind::NoticeDue, anchor), due_date, contract, details });
            }
        }
        let chain = chain_ending_at_last(&facts.contracts, settings.gap_months);
        match chain_verdict(chain, end, settings) {
            Verdict::Exceeded(d) => milestones.push(Milestone {
                // Anchored to the chain, so a further fixed contract in it does not make a new one.
                key: key(MilestoneKind::ChainExceeded, Anchor::ContractStart(d.chain_start)),
                due_date: d.permanent_since,
                contract,
                details: Details::ChainExceeded(d),
            }),
            Verdict::Limit(d) if !employee.out_of_service => milestones.push(Milestone {
                key: key(MilestoneKind::ChainLimit, anchor),
                due_date: end,
                contract,
                details: Details::ChainLimit(d),
            }),
            Verdict::Limit(_) | Verdict::Within => {}
        }
    }

    let mut changes: Vec<_> = employee
        .changes
        .iter()
        .filter_map(|c| c.effective_date.filter(|d| *d > c.detected_on).map(|d| (c.change_id, d, c.change_type)))
        .collect();
    changes.sort_unstable();
    changes.dedup_by_key(|(id, ..)| *id);
    milestones.extend(changes.into_iter().map(|(change_id, due_date, change_type)| Milestone {
        key: key(MilestoneKind::ChangeEffective, Anchor::Change(change_id)),
        due_date,
        contract: None,
        details: Details::ChangeEffective(ChangeDetails { change_id, change_type }),
    }));

    milestones.sort_unstable_by_key(|m| m.key);
    Derivation { out_of_service: employee.out_of_service, milestones, data_errors: facts.data_errors }
}

/// `end_date` − 1 month when the contract lasts six months or longer
/// (`end_date` ≥ `start_date` + 6 months − 1 day), else `None`.
fn notice_date(contract: &Contract) -> Option<NaiveDate> {
    let end = contract.end_date?;
    let six_months = period_end(contract.start_date, NOTICE_MIN_MONTHS)?;
    (end >= six_months).then(|| sub_months(end, NOTICE_MONTHS_BEFORE)).flatten()
}

/// One month's gross wage on `date`, 2 decimals: the salary period in force's `month_wage`,
/// else its `hour_wage` × the hours period in force's `hours_per_week` × 52 ÷ 12.
fn month_wage_on(facts: &Periods, date: NaiveDate) -> Option<f64> {
    let salary = in_force(&facts.salary, date, |s| (s.start_date, s.end_date))?;
    let wage = match salary.month_wage {
        Some(month_wage) => month_wage,
        None => {
            let hours = in_force(&facts.hours, date, |h| (h.start_date, h.end_date))?.hours_per_week?;
            salary.hour_wage? * hours * 52.0 / 12.0
        }
    };
    let cents = (wage * 100.0).round() / 100.0;
    cents.is_finite().then_some(cents)
}

/// The period in force on `date`: started on or before it and not ended before it; of
/// several, the one that started last.
fn in_force<T>(periods: &[T], date: NaiveDate, span: impl Fn(&T) -> (NaiveDate, Option<NaiveDate>)) -> Option<&T> {
    periods.iter().rev().find(|p| {
        let (start, end) = span(p);
        start <= date && end.is_none_or(|end| end >= date)
    })
}

/// The chain that ends at the last contract (a sound fixed one): walking back, each earlier
/// contract belongs to it while it is a sound fixed contract whose interval to the next one is
/// at most `gap_months`. A permanent contract, or a contract with a data problem, ends it.
fn chain_ending_at_last(contracts: &[Contract], gap_months: u32) -> &[Contract] {
    let mut first = contracts.len().saturating_sub(1);
    while first > 0 {
        let (previous, next) = (&contracts[first - 1], &contracts[first]);
        let linked = previous.is_fixed()
            && previous.is_sound()
            && previous.end_date.is_some_and(|end| interval_at_most(end, next.start_date, gap_months));
        if !linked {
            break;
        }
        first -= 1;
    }
    &contracts[first..]
}

enum Verdict {
    Within,
    Limit(ChainDetails),
    Exceeded(ExceededDetails),
}

/// Whether the chain (ending on `end`) reached or passed the chain rule.
///
/// Passed: more than `max_contracts` contracts (permanent since the start of the one too
/// many), or a span reaching chain start + `max_months` (permanent since that date, but never
/// before the second contract starts: BW 7:668a speaks of contracts that *followed each
/// other*, so one long first contract is not converted — its continuation is). The earlier
/// date wins. Reached (and not passed): exactly `max_contracts` contracts, or a span that
/// ends on or after chain start + `max_months` − 1 day.
fn chain_verdict(chain: &[Contract], end: NaiveDate, settings: &ChainSettings) -> Verdict {
    let Some(first) = chain.first() else { return Verdict::Within };
    let chain_start = first.start_date;
    let count = chain.len();
    let contracts_in_chain = u32::try_from(count).unwrap_or(u32::MAX);
    let max_contracts = usize::try_from(settings.max_contracts).unwrap_or(usize::MAX);

    let by_count = chain.get(max_contracts).map(|one_too_many| one_too_many.start_date);
    let by_duration = chain.get(1).and_then(|second| {
        let limit = add_months(chain_start, settings.max_months)?;
        (end >= limit).then(|| limit.max(second.start_date))
    });
    let exceeded = match (by_count, by_duration) {
        (Some(c), Some(d)) if d < c => Some((d, ChainReason::MaxDuration)),
        (Some(c), _) => Some((c, ChainReason::MaxContracts)),
        (None, Some(d)) => Some((d, ChainReason::MaxDuration)),
        (None, None) => None,
    };
    if let Some((permanent_since, reason)) = exceeded {
        return Verdict::Exceeded(ExceededDetails { contracts_in_chain, chain_start, reason, permanent_since });
    }
    let reason = if count == max_contracts {
        ChainReason::MaxContracts
    } else if period_end(chain_start, settings.max_months).is_some_and(|limit| end >= limit) {
        ChainReason::MaxDuration
    } else {
        return Verdict::Within;
    };
    Verdict::Limit(ChainDetails { contracts_in_chain, chain_start, reason })
}
