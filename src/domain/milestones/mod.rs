//! Milestones: what is about to happen in an employee's contracts (the rules: README, "Milestones").
//!
//! Pure functions, no I/O and no clock ("today" is always passed in):
//! - [`derive`] reads one employee's employment history (the `/employments` payload), recorded
//!   changes and the company's [`ChainSettings`], and says which milestones the rules give —
//!   `contract_ending`, `notice_due` (BW 7:668), `chain_limit` and `chain_exceeded`
//!   (BW 7:668a), `change_effective` — plus the [`DataError`]s found on the way.
//! - [`plan`] compares that with the stored [`Row`]s and answers what to write and which
//!   [`Event`] each row owes today; [`acknowledge`] is a user's "notice was given".
//!
//! Dates are calendar dates; months are calendar months with month ends clamped ([`calendar`]).
//!
//! Where the contract leaves room, these rules decide:
//! - A contract with a data problem (no start, end before start, unknown duration, fixed
//!   without end) derives nothing and ends a chain; it is reported, never guessed around.
//!   Overlapping contracts are reported but still chain (their interval is below the gap).
//! - BW 7:668a converts contracts that *followed each other*: a single first contract longer
//!   than `chain_max_months` is not `chain_exceeded` (it is `chain_limit`), and a duration-based
//!   `permanent_since` is never before the chain's second contract starts.
//! - `chain_exceeded` is anchored to the chain's first contract, so a further fixed contract
//!   updates it instead of making a new one; the other contract kinds to the current contract.
//! - `max_compensation` is `null` when no salary period (or, for an hourly wage, no hours
//!   period) is in force on the end date.
//! - A resolution is final, also when the milestone is derived again. Only `notice_due` can
//!   be acknowledged. A moved due date starts its reminders, `due` and `overdue` afresh.
//! - `detected` stands in for every moment already reached; after an outage only the latest
//!   moment reached is published (no late reminders).

pub mod calendar;
mod derive;
mod facts;
mod lifecycle;
mod types;

pub use derive::{ChainSettings, Derivation, EmployeeFacts, RecordedChange, derive};
pub use facts::{Contract, DataError, DataProblem, Hours, PeriodKind, Periods, Salary};
pub use lifecycle::{
    AcknowledgeError, Event, InvalidReminders, Published, Reminders, Row, Step, Write, acknowledge, plan, status_on,
};
pub use types::{
    Anchor, ChainDetails, ChainReason, ChangeDetails, ContractDuration, ContractRef, Details, EffectiveChangeType,
    ExceededDetails, Milestone, MilestoneKey, MilestoneKind, MilestoneReason, MilestoneStatus, NoDetails,
    NoticeDetails, Resolution,
};

#[cfg(test)]
mod tests;
