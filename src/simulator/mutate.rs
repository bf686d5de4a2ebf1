//! Mutations of the simulated company (`POST /_sim/mutations`).

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::contracts;
use super::data::{
    ContractPeriod, Employee, History, HoursPeriod, SalaryPeriod, Span, World, round2, salary_from_month,
};
use super::dataset::{self, days_for, rng_uuid};

/// A successful mutation: whom it touched and which webhook event it causes.
pub(crate) struct Applied {
    pub employee_id: Uuid,
    pub event: &'static str,
}

/// A rejected mutation (answered as 400 `{"error":code,"message":..,"field":..}`).
#[derive(Debug)]
pub(crate) struct MutError {
    pub code: &'static str,
    pub message: String,
    /// The body field at fault (`contracts[1].end_date`).
    pub field: String,
}

impl MutError {
    /// An `invalid_mutation` naming the field at fault.
    pub fn field(field: &str, message: impl Into<String>) -> MutError {
        MutError { code: "invalid_mutation", message: message.into(), field: field.to_string() }
    }
}

type Body = Map<String, Value>;

/// A calendar date written exactly `YYYY-MM-DD`.
pub(crate) fn parse_day(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn date_field(body: &Body, key: &str) -> Result<Option<NaiveDate>, MutError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            parse_day(s).map(Some).ok_or_else(|| MutError::field(key, format!("{key} must be a date YYYY-MM-DD")))
        }
        Some(_) => Err(MutError::field(key, format!("{key} must be a date YYYY-MM-DD"))),
    }
}

fn required_date(body: &Body, key: &str) -> Result<NaiveDate, MutError> {
    date_field(body, key)?.ok_or_else(|| MutError::field(key, format!("{key} is required")))
}

fn number(body: &Body, key: &str, max: f64) -> Result<Option<f64>, MutError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| *n > 0.0 && *n <= max)
            .map(Some)
            .ok_or_else(|| MutError::field(key, format!("{key} must be a number above 0 and at most {max}"))),
    }
}

fn text(body: &Body, key: &str) -> Result<Option<String>, MutError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => Ok(Some(s.trim().to_string())),
        Some(Value::Number(n)) if key == "value" => Ok(Some(n.to_string())),
        Some(_) => Err(MutError::field(key, format!("{key} must be a non-empty string"))),
    }
}

/// Applies one mutation to the world.
pub(crate) fn apply(world: &mut World, company: Uuid, body: &Body) -> Result<Applied, MutError> {
    let kind = body.get("kind").and_then(Value::as_str).ok_or_else(|| MutError::field("kind", "kind is required"))?;
    if kind == "hire" {
        return hire(world, company, body);
    }
    let event = match kind {
        "salary" | "hours" | "contract" | "contracts" => "employment.updated",
        "status" | "terminate" | "personal" => "employee.updated",
        "delete" => "employee.deleted",
        _ => {
            return Err(MutError {
                code: "unknown_kind",
                message: format!(
                    "unknown mutation kind {kind} (salary|hours|contract|contracts|status|terminate|hire|personal|delete)"
                ),
                field: "kind".into(),
            });
        }
    };
    let unknown = || MutError {
        code: "unknown_employee",
        message: "unknown employee_id".to_string(),
        field: "employee_id".into(),
    };
    let id =
        body.get("employee_id").and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(unknown)?;
    if kind == "delete" {
        let before = world.employees.len();
        world.employees.retain(|e| e.id != id);
        if world.employees.len() == before {
            return Err(unknown());
        }
        return Ok(Applied { employee_id: id, event });
    }
    let specs = if kind == "contracts" { contracts::parse(body, true)?.unwrap_or_default() } else { Vec::new() };
    let new_id = rng_uuid(&mut world.rng);
    let ids: Vec<Uuid> = specs.iter().map(|_| rng_uuid(&mut world.rng)).collect();
    let e = world.find_mut(id).ok_or_else(unknown)?;
    // `"touch_record": false` models an edit upstream that leaves the employee record exactly as
    // it was (no `dt_update`, nothing embedded moves), e.g. a correction of a past period: only
    // the employments show it. This is what the periodic history refresh is for.
    let touch = body.get("touch_record") != Some(&Value::Bool(false));
    let shown = if touch { None } else { Some(e.to_json()) };
    match kind {
        "salary" => salary(e, body, new_id)?,
        "hours" => hours(e, body, new_id)?,
        "contract" => contract(e, body, new_id)?,
        "contracts" => contracts::replace(e, &specs, ids, dataset::today()),
        "status" => {
            let status = text(body, "status")?.unwrap_or_default();
            if !["pending", "active", "out of service"].contains(&status.as_str()) {
                return Err(MutError::field("status", "status must be pending|active|out of service"));
            }
            e.status = status;
        }
        "terminate" => terminate(e),
        _ => personal(e, body)?,
    }
    if touch {
        e.dt_update = dataset::now_stamp();
    }
    e.shown_record = shown;
    Ok(Applied { employee_id: id, event })
}

/// Checks the new start against the current period and prepares the history:
/// an employee without history gets a first employment (the new period only).
fn prepare<T>(
    e_history: &mut History,
    periods: &mut Vec<T>,
    span: fn(&mut T) -> &mut Span,
    start: NaiveDate,
) -> Result<(), MutError> {
    if *e_history != History::Visible {
        periods.clear();
        return Ok(());
    }
    if let Some(current) = periods.iter_mut().map(span).max_by_key(|s| s.start_date) {
        if start <= current.start_date {
            return Err(MutError::field("start_date", "start_date must be after the start of the current period"));
        }
        let day_before = start.pred_opt().unwrap_or(start);
        current.end_date = Some(current.end_date.map_or(day_before, |d| d.min(day_before)));
        current.is_active = false;
    }
    Ok(())
}

fn finish(e: &mut Employee, start: NaiveDate) {
    if e.history != History::Visible {
        e.history = History::Visible;
        e.employment.start_date = e.employment.start_date.min(start);
    }
}

fn salary(e: &mut Employee, body: &Body, id: Uuid) -> Result<(), MutError> {
    let month = number(body, "month_wage", 1_000_000.0)?;
    let hour = number(body, "hour_wage", 10_000.0)?;
    let start = required_date(body, "start_date")?;
    let hpw = e.employment.hours_per_week();
    let (hour_wage, month_wage, yearly_wage) = match (month, hour) {
        (Some(m), None) => salary_from_month(round2(m), hpw),
        (None, Some(h)) => {
            let m = round2(h * hpw * 4.33);
            (round2(h), m, (m * 12.96).round())
        }
        _ => return Err(MutError::field("month_wage", "give exactly one of month_wage or hour_wage")),
    };
    prepare(&mut e.history, &mut e.employment.salary, |p| &mut p.span, start)?;
    e.employment.salary.push(SalaryPeriod { span: Span::open(id, start), hour_wage, month_wage, yearly_wage });
    finish(e, start);
    Ok(())
}

fn hours(e: &mut Employee, body: &Body, id: Uuid) -> Result<(), MutError> {
    let hpw = number(body, "hours_per_week", 80.0)?
        .ok_or_else(|| MutError::field("hours_per_week", "hours_per_week is required"))?;
    let days = match body.get("days_per_week") {
        None | Some(Value::Null) => days_for(hpw),
        Some(v) => v
            .as_u64()
            .filter(|d| (1..=7).contains(d))
            .map(|d| d as u32)
            .ok_or_else(|| MutError::field("days_per_week", "days_per_week must be an integer from 1 to 7"))?,
    };
    let start = required_date(body, "start_date")?;
    prepare(&mut e.history, &mut e.employment.hours, |p| &mut p.span, start)?;
    e.employment.hours.push(HoursPeriod { span: Span::open(id, start), hours_per_week: hpw, days_per_week: days });
    finish(e, start);
    Ok(())
}

fn contract(e: &mut Employee, body: &Body, id: Uuid) -> Result<(), MutError> {
    let permanent = match body.get("contract_duration").and_then(Value::as_str) {
        Some("permanent") => true,
        Some("fixed") => false,
        _ => return Err(MutError::field("contract_duration", "contract_duration must be fixed|permanent")),
    };
    let start = required_date(body, "start_date")?;
    let end = date_field(body, "end_date")?;
    if end.is_some_and(|end| end < start) {
        return Err(MutError::field("end_date", "end_date must not be before start_date"));
    }
    prepare(&mut e.history, &mut e.employment.contracts, |p| &mut p.span, start)?;
    e.employment.contracts.push(ContractPeriod {
        span: Span { end_date: end, ..Span::open(id, start) },
        permanent,
        is_signed: true,
        sign_date: Some(start),
    });
    finish(e, start);
    Ok(())
}

fn terminate(e: &mut Employee) {
    let today = dataset::today();
    e.status = "out of service".to_string();
    let em = &mut e.employment;
    em.end_date = Some(today.max(em.start_date));
    let spans = [
        em.salary.iter_mut().map(|p| &mut p.span).max_by_key(|s| s.start_date),
        em.hours.iter_mut().map(|p| &mut p.span).max_by_key(|s| s.start_date),
        em.contracts.iter_mut().map(|p| &mut p.span).max_by_key(|s| s.start_date),
    ];
    for span in spans.into_iter().flatten() {
        span.end_date = Some(today.max(span.start_date));
    }
}

fn personal(e: &mut Employee, body: &Body) -> Result<(), MutError> {
    let field = body.get("field").and_then(Value::as_str).unwrap_or_default();
    let value = text(body, "value")?.ok_or_else(|| MutError::field("value", "value is required"))?;
    let slot = match field {
        "email" => &mut e.email,
        "phone_number" => &mut e.phone_number,
        "street" => &mut e.street,
        "housenumber" => &mut e.housenumber,
        "zipcode" => &mut e.zipcode,
        "city" => &mut e.city,
        "surname" => &mut e.surname,
        _ => {
            return Err(MutError::field(
                "field",
                "field must be email|phone_number|street|housenumber|zipcode|city|surname",
            ));
        }
    };
    *slot = value;
    Ok(())
}

/// A new employee; with `contracts`, those are its contracts and its employment starts at the
/// first of them unless `start_date` says otherwise.
fn hire(world: &mut World, company: Uuid, body: &Body) -> Result<Applied, MutError> {
    let first = text(body, "first_name")?;
    let surname = text(body, "surname")?;
    let specs = contracts::parse(body, false)?;
    let first_contract = specs.as_ref().and_then(|s| s.iter().map(|c| c.start_date).min());
    let start = date_field(body, "start_date")?.or(first_contract).unwrap_or_else(dataset::today);
    let employee_id = dataset::hire(world, company, first, surname, start);
    if let Some(specs) = specs {
        let ids: Vec<Uuid> = specs.iter().map(|_| rng_uuid(&mut world.rng)).collect();
        if let Some(e) = world.find_mut(employee_id) {
            contracts::replace(e, &specs, ids, dataset::today());
        }
    }
    Ok(Applied { employee_id, event: "employee.created" })
}
