//! Pure change detection: no I/O, no clock. Stages feed it data and store what it returns.

mod changes;
mod history;

pub use changes::{
    Change, ChangeType, ChangeValue, DedupKey, KeyedChange, RecordDiff, detect_history_changes, detect_record_changes,
    for_each_history_change, for_each_record_change, format_number, sort_for_insert,
};
pub use history::{ContractPeriod, History, HoursPeriod, SalaryPeriod, parse_date};
