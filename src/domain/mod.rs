//! Pure change detection: no I/O, no clock. Stages feed it data and store what it returns.

mod changes;
mod history;

pub use changes::{Change, ChangeType, RecordDiff, detect_history_changes, detect_record_changes, format_number};
pub use history::{ContractPeriod, History, HoursPeriod, SalaryPeriod, parse_date};
