//! The domain: employee records as Employes sends them, pure change detection, milestones, and
//! the typed states of sessions and webhook deliveries. No I/O, no clock: stages feed it data
//! and store what it returns.

#[macro_use]
mod named;

mod changes;
mod employee;
pub mod issues;
pub mod milestones;
pub mod minimise;
mod states;
pub mod timeline;

pub use changes::{
    BusinessImpact, Change, ChangeType, ChangeValue, ContractPeriod, DedupKey, History, HoursPeriod, KeyedChange,
    PERSONAL_FIELDS, RecordDiff, SalaryPeriod, amount_of, detect_history_changes, detect_record_changes,
    for_each_history_change, for_each_record_change, format_number, parse_date, sort_for_insert, text_of,
};
pub use employee::Employee;
pub use states::{
    AttemptStatus, AuditAction, IssueKind, IssueStatus, Role, Scope, SessionStatus, Source, Stage, StageStatus,
    WebhookOutcome,
};

/// The company the built-in simulator serves, and the one synced when no `EMPLOYES_API_URL`
/// is configured.
pub const DEFAULT_COMPANY_ID: &str = "7e3f2a10-5b6c-4d8e-9f01-23456789abcd";
