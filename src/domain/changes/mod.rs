//! Change detection: transitions inside employment history, and diffs between two versions of
//! an employee record. Each change carries a dedup key derived from what it is, so detecting it
//! again yields the same key and id.
//!
//! - `types`: the change and its typed type and business impact.
//! - `value`: old and new values and their text.
//! - `key`: the dedup key, the id derived from it, and the insert order.
//! - `history` / `history_rules`: employment history as period lists, and its transitions.
//! - `record_rules`: record diffs, and which fields are personal.

mod history;
mod history_rules;
mod key;
mod record_rules;
mod types;
mod value;

pub use history::{
    ContractPeriod, History, HoursPeriod, SalaryPeriod, number as period_number, parse_date,
    positive as positive_number,
};
pub use history_rules::{detect_history_changes, for_each_history_change};
pub use key::{DedupKey, KeyedChange, sort_for_insert};
pub use record_rules::{PERSONAL_FIELDS, RecordDiff, detect_record_changes, for_each_record_change, text_of};
pub use types::{BusinessImpact, Change, ChangeType};
pub use value::{ChangeValue, amount_of, format_number};
