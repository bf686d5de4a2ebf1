//! The milestone rules as a table of dated cases (each with its legal reason), then the
//! lifecycle's edges, the types' names and a property test.

use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

mod cases_chain;
mod cases_lifecycle;
mod cases_notice;
mod properties;
mod units;

pub(super) const COMPANY: Uuid = Uuid::from_u128(0xc0);
pub(super) const EMPLOYEE: Uuid = Uuid::from_u128(0xe1);

pub(super) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap_or_else(|_| panic!("test date {s:?}"))
}

pub(super) fn fixed(start: &str, end: &str) -> Value {
    json!({"contract_duration": "fixed", "start_date": start, "end_date": end})
}

pub(super) fn permanent(start: &str) -> Value {
    json!({"contract_duration": "permanent", "start_date": start, "end_date": null})
}

pub(super) fn month_wage(start: &str, end: Option<&str>, wage: f64) -> Value {
    json!({"start_date": start, "end_date": end, "month_wage": wage, "hour_wage": null})
}

pub(super) fn hour_wage(start: &str, wage: f64) -> Value {
    json!({"start_date": start, "month_wage": null, "hour_wage": wage})
}

pub(super) fn hours(start: &str, end: Option<&str>, per_week: f64) -> Value {
    json!({"start_date": start, "end_date": end, "hours_per_week": per_week})
}

pub(super) fn change(id: u128, change_type: EffectiveChangeType, effective: &str, detected: &str) -> RecordedChange {
    RecordedChange {
        change_id: Uuid::from_u128(id),
        change_type,
        effective_date: Some(d(effective)),
        detected_on: d(detected),
    }
}

pub(super) fn cao(max_contracts: u32, max_months: u32, gap_months: u32) -> ChainSettings {
    ChainSettings { max_contracts, max_months, gap_months }
}

/// A derived milestone, as a case expects it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Got {
    Ending { due: NaiveDate },
    Notice { due: NaiveDate, max_compensation: Option<f64> },
    Limit { due: NaiveDate, contracts: u32, chain_start: NaiveDate, reason: ChainReason },
    Exceeded { permanent_since: NaiveDate, contracts: u32, chain_start: NaiveDate, reason: ChainReason },
    Effective { due: NaiveDate, change_type: EffectiveChangeType },
}

pub(super) fn ending(due: &str) -> Got {
    Got::Ending { due: d(due) }
}
pub(super) fn notice(due: &str, max_compensation: Option<f64>) -> Got {
    Got::Notice { due: d(due), max_compensation }
}
pub(super) fn limit(due: &str, contracts: u32, chain_start: &str, reason: ChainReason) -> Got {
    Got::Limit { due: d(due), contracts, chain_start: d(chain_start), reason }
}
pub(super) fn exceeded(permanent_since: &str, contracts: u32, chain_start: &str, reason: ChainReason) -> Got {
    Got::Exceeded { permanent_since: d(permanent_since), contracts, chain_start: d(chain_start), reason }
}
pub(super) fn effective(due: &str, change_type: EffectiveChangeType) -> Got {
    Got::Effective { due: d(due), change_type }
}

impl Got {
    fn of(m: &Milestone) -> Got {
        assert_eq!(m.details.kind(), m.kind(), "details match the kind");
        match m.details {
            Details::ContractEnding(_) => Got::Ending { due: m.due_date },
            Details::NoticeDue(n) => Got::Notice { due: m.due_date, max_compensation: n.max_compensation },
            Details::ChainLimit(c) => Got::Limit {
                due: m.due_date,
                contracts: c.contracts_in_chain,
                chain_start: c.chain_start,
                reason: c.reason,
            },
            Details::ChainExceeded(e) => {
                assert_eq!(m.due_date, e.permanent_since, "chain_exceeded is due when the contract became permanent");
                let (contracts, chain_start, reason) = (e.contracts_in_chain, e.chain_start, e.reason);
                Got::Exceeded { permanent_since: e.permanent_since, contracts, chain_start, reason }
            }
            Details::ChangeEffective(c) => Got::Effective { due: m.due_date, change_type: c.change_type },
        }
    }
}

/// An event as a case expects it: kind, reason, days before (reminders).
pub(super) type Ev = (MilestoneKind, MilestoneReason, Option<u32>);

/// One dated case: an employee's history evaluated on `today`, then optionally on later days.
#[derive(Default)]
pub(super) struct Case {
    pub name: &'static str,
    pub today: &'static str,
    pub settings: ChainSettings,
    pub contracts: Vec<Value>,
    pub salary: Vec<Value>,
    pub hours: Vec<Value>,
    /// Further `/employments` items (contracts of earlier employments).
    pub more_employments: Vec<Value>,
    pub out_of_service: bool,
    pub changes: Vec<RecordedChange>,
    /// Exactly the milestones derived.
    pub expect: Vec<Got>,
    /// Exactly the data problems found.
    pub errors: Vec<DataProblem>,
    /// When set, exactly the events of the first evaluation.
    pub events: Option<Vec<Ev>>,
    pub then: Vec<Then>,
}

/// A later evaluation of the same employee.
#[derive(Default)]
pub(super) struct Then {
    pub today: &'static str,
    /// New contracts (the history as it now is), if they changed.
    pub contracts: Option<Vec<Value>>,
    pub out_of_service: Option<bool>,
    /// A user resolves this kind's open milestone before the evaluation.
    pub acknowledge: Option<MilestoneKind>,
    /// Exactly the events of that day.
    pub events: Vec<Ev>,
    /// (kind, due date, status, resolution) of stored milestones afterwards.
    pub status: Vec<(MilestoneKind, &'static str, MilestoneStatus, Option<Resolution>)>,
    /// When set, exactly this many rows written.
    pub writes: Option<usize>,
}

fn sorted<T: std::fmt::Debug>(mut items: Vec<T>) -> Vec<T> {
    items.sort_by_key(|i| format!("{i:?}"));
    items
}

fn run(case: &Case) {
    let name = case.name;
    let reminders = Reminders::default();
    let mut contracts = case.contracts.clone();
    let mut out_of_service = case.out_of_service;
    let evaluate = |contracts: &[Value], out_of_service: bool| {
        let mut employments = vec![json!({"contracts": contracts, "salary": case.salary, "hours": case.hours})];
        employments.extend(case.more_employments.iter().cloned());
        let employee = EmployeeFacts {
            company_id: COMPANY,
            employee_id: EMPLOYEE,
            out_of_service,
            employments: &employments,
            changes: &case.changes,
        };
        derive(&employee, &case.settings)
    };

    // Arrange / Act: the first evaluation.
    let derivation = evaluate(&contracts, out_of_service);
    let mut store: Vec<Row> = Vec::new();
    let steps = plan(&store, &derivation, d(case.today), &reminders);

    // Assert: the milestones and data errors the rules give.
    let got = sorted(derivation.milestones.iter().map(Got::of).collect());
    assert_eq!(got, sorted(case.expect.clone()), "{name}: milestones");
    let problems = sorted(derivation.data_errors.iter().map(|e| e.problem).collect());
    assert_eq!(problems, sorted(case.errors.clone()), "{name}: data errors");
    let mut published = apply(&mut store, &steps);
    if let Some(events) = &case.events {
        assert_eq!(sorted(published), sorted(events.clone()), "{name}: events on {}", case.today);
    }

    for then in &case.then {
        let when = then.today;
        contracts = then.contracts.clone().unwrap_or(contracts);
        out_of_service = then.out_of_service.unwrap_or(out_of_service);
        published = Vec::new();
        if let Some(kind) = then.acknowledge {
            let row = store.iter().find(|r| r.milestone.kind() == kind && r.resolution.is_none());
            let step = acknowledge(row.unwrap_or_else(|| panic!("{name}: no open {kind} to acknowledge")));
            published.extend(apply(&mut store, &[step.unwrap_or_else(|e| panic!("{name}: {e}"))]));
        }
        let steps = plan(&store, &evaluate(&contracts, out_of_service), d(when), &reminders);
        published.extend(apply(&mut store, &steps));
        assert_eq!(sorted(published), sorted(then.events.clone()), "{name}: events on {when}");
        if let Some(writes) = then.writes {
            assert_eq!(steps.len(), writes, "{name}: rows written on {when}");
        }
        for (kind, due, status, resolution) in &then.status {
            let row = store.iter().find(|r| r.milestone.kind() == *kind && r.milestone.due_date == d(due));
            let row = row.unwrap_or_else(|| panic!("{name}: no {kind} due {due} on {when}"));
            assert_eq!((row.status, row.resolution), (*status, *resolution), "{name}: {kind} due {due} on {when}");
        }
    }
}

/// Plans and applies one evaluation; answers the events published.
pub(super) fn advance(
    store: &mut Vec<Row>,
    derivation: &Derivation,
    today: NaiveDate,
    reminders: &Reminders,
) -> Vec<Ev> {
    let steps = plan(store, derivation, today, reminders);
    apply(store, &steps)
}

/// Applies the steps as the storage layer would, and answers the events published.
pub(super) fn apply(store: &mut Vec<Row>, steps: &[Step]) -> Vec<Ev> {
    let mut events = Vec::new();
    for step in steps {
        match step.write {
            Write::Insert => {
                assert!(store.iter().all(|r| r.milestone.key != step.row.milestone.key), "inserted twice");
                store.push(step.row);
            }
            Write::Update => {
                let row = store.iter_mut().find(|r| r.milestone.key == step.row.milestone.key);
                *row.expect("updating a stored row") = step.row;
            }
        }
        events.extend(step.event.map(|e| (step.row.milestone.kind(), e.reason, e.days_before)));
    }
    events
}

#[test]
fn every_dated_case_gives_what_dutch_contract_law_says() {
    let cases: Vec<Case> =
        [cases_notice::cases(), cases_chain::cases(), cases_lifecycle::cases()].into_iter().flatten().collect();
    assert!(cases.len() >= 40, "the table holds {} cases", cases.len());
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    for case in &cases {
        run(case);
    }
}
