//! The `contracts` list of the `contracts` and `hire` mutations: parsed and checked in full
//! before anything changes, then put in place of the employment's contracts.
//!
//! An item is `{"contract_duration":"fixed"|"permanent","start_date":"YYYY-MM-DD",
//! "end_date"?:"YYYY-MM-DD"|null,"is_signed"?:bool,"sign_date"?:"YYYY-MM-DD"}`. A `fixed`
//! contract may have no `end_date`: Dutch fixed-term contracts may end on an event (the end of
//! a project) rather than a date. Items may overlap and come in any order (Employes does not
//! forbid either; the API serves them sorted by `start_date`). An `end_date` before its
//! `start_date` is refused.

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use super::data::{ContractPeriod, Employee, History, Span};
use super::mutate::{MutError, parse_day};

/// At most this many contracts per list.
const MAX_CONTRACTS: usize = 100;

const ITEM_FIELDS: &str = "contract_duration|start_date|end_date|is_signed|sign_date";

/// One checked item.
#[derive(Clone, Debug)]
pub(crate) struct ContractSpec {
    pub permanent: bool,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub is_signed: bool,
    pub sign_date: Option<NaiveDate>,
}

fn date_at(item: &serde_json::Map<String, Value>, field: &str, at: &str) -> Result<Option<NaiveDate>, MutError> {
    let name = format!("{at}.{field}");
    match item.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            parse_day(s).map(Some).ok_or_else(|| MutError::field(&name, format!("{name} must be a date YYYY-MM-DD")))
        }
        Some(_) => Err(MutError::field(&name, format!("{name} must be a date YYYY-MM-DD"))),
    }
}

fn item(v: &Value, at: &str) -> Result<ContractSpec, MutError> {
    let Value::Object(item) = v else {
        return Err(MutError::field(at, format!("{at} must be an object")));
    };
    if let Some(unknown) = item.keys().find(|k| !ITEM_FIELDS.split('|').any(|f| f == k.as_str())) {
        let name = format!("{at}.{unknown}");
        return Err(MutError::field(&name, format!("{name} is not a contract field ({ITEM_FIELDS})")));
    }
    let duration = format!("{at}.contract_duration");
    let permanent = match item.get("contract_duration").and_then(Value::as_str) {
        Some("permanent") => true,
        Some("fixed") => false,
        _ => return Err(MutError::field(&duration, format!("{duration} must be fixed|permanent"))),
    };
    let start = format!("{at}.start_date");
    let start_date =
        date_at(item, "start_date", at)?.ok_or_else(|| MutError::field(&start, format!("{start} is required")))?;
    let end_date = date_at(item, "end_date", at)?;
    if end_date.is_some_and(|end| end < start_date) {
        let name = format!("{at}.end_date");
        return Err(MutError::field(&name, format!("{name} must not be before {at}.start_date")));
    }
    let is_signed = match item.get("is_signed") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            let name = format!("{at}.is_signed");
            return Err(MutError::field(&name, format!("{name} must be a boolean")));
        }
    };
    let sign_date = date_at(item, "sign_date", at)?.or(is_signed.then_some(start_date));
    Ok(ContractSpec { permanent, start_date, end_date, is_signed, sign_date })
}

/// The body's `contracts`: `Ok(None)` when absent (allowed only when `required` is false).
pub(crate) fn parse(
    body: &serde_json::Map<String, Value>,
    required: bool,
) -> Result<Option<Vec<ContractSpec>>, MutError> {
    let items = match body.get("contracts") {
        None | Some(Value::Null) if !required => return Ok(None),
        Some(Value::Array(items)) => items,
        _ => return Err(MutError::field("contracts", "contracts must be an array of contracts")),
    };
    if items.is_empty() || items.len() > MAX_CONTRACTS {
        return Err(MutError::field("contracts", format!("contracts must hold 1 to {MAX_CONTRACTS} contracts")));
    }
    items.iter().enumerate().map(|(i, v)| item(v, &format!("contracts[{i}]"))).collect::<Result<_, _>>().map(Some)
}

/// Puts `specs` in place of the employee's contracts (ids from `ids`). The contract with the
/// latest start is active unless it ended before `today`; the others are not. An employee
/// without visible history gets one; the employment starts no later than its first contract.
pub(crate) fn replace(e: &mut Employee, specs: &[ContractSpec], ids: impl IntoIterator<Item = Uuid>, today: NaiveDate) {
    let latest = specs.iter().map(|c| c.start_date).max();
    e.employment.contracts = specs
        .iter()
        .zip(ids)
        .map(|(c, id)| ContractPeriod {
            span: Span {
                id,
                start_date: c.start_date,
                end_date: c.end_date,
                is_active: Some(c.start_date) == latest && c.end_date.is_none_or(|end| end >= today),
            },
            permanent: c.permanent,
            is_signed: c.is_signed,
            sign_date: c.sign_date,
        })
        .collect();
    if let Some(first) = specs.iter().map(|c| c.start_date).min() {
        e.employment.start_date = e.employment.start_date.min(first);
    }
    e.history = History::Visible;
}
