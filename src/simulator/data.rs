//! The simulated company: employee records, employment periods and their JSON shapes.

use chrono::NaiveDate;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use uuid::Uuid;

/// Everything the simulator knows about its company.
pub(crate) struct World {
    /// Employees in a stable order (by employee number).
    pub employees: Vec<Employee>,
    /// Drives generated values of mutations (hires, period ids).
    pub rng: StdRng,
}

impl World {
    pub fn find_mut(&mut self, id: Uuid) -> Option<&mut Employee> {
        self.employees.iter_mut().find(|e| e.id == id)
    }

    pub fn find(&self, id: Uuid) -> Option<&Employee> {
        self.employees.iter().find(|e| e.id == id)
    }
}

/// How `/employments` answers for an employee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum History {
    /// `{"data":[employment]}`
    Visible,
    /// No history: 404.
    NotFound,
    /// No history: `{"data":[]}`.
    Empty,
}

pub(crate) struct Employee {
    pub id: Uuid,
    pub first_name: String,
    pub surname: String,
    pub surname_prefix: Option<String>,
    pub gender: &'static str,
    pub date_of_birth: NaiveDate,
    pub email: String,
    pub phone_number: String,
    pub street: String,
    pub housenumber: String,
    pub zipcode: String,
    pub city: String,
    pub iban: String,
    pub status: String,
    pub employee_number: i64,
    pub administration_id: Uuid,
    pub dt_create: String,
    pub dt_update: String,
    pub history: History,
    pub employment: Employment,
    /// The record as it was before edits that left it untouched (`"touch_record": false`):
    /// what the list and detail endpoints keep showing until a touching edit.
    pub shown_record: Option<Value>,
}

pub(crate) struct Employment {
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub tax_reduction: bool,
    pub salary: Vec<SalaryPeriod>,
    pub hours: Vec<HoursPeriod>,
    pub contracts: Vec<ContractPeriod>,
}

#[derive(Clone)]
pub(crate) struct Span {
    pub id: Uuid,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub is_active: bool,
}

impl Span {
    pub fn open(id: Uuid, start_date: NaiveDate) -> Self {
        Self { id, start_date, end_date: None, is_active: true }
    }
}

#[derive(Clone)]
pub(crate) struct SalaryPeriod {
    pub span: Span,
    pub hour_wage: f64,
    pub month_wage: f64,
    pub yearly_wage: f64,
}

#[derive(Clone)]
pub(crate) struct HoursPeriod {
    pub span: Span,
    pub hours_per_week: f64,
    pub days_per_week: u32,
}

#[derive(Clone)]
pub(crate) struct ContractPeriod {
    pub span: Span,
    pub permanent: bool,
    pub is_signed: bool,
    pub sign_date: Option<NaiveDate>,
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Salary figures from a monthly wage and weekly hours.
pub(crate) fn salary_from_month(month_wage: f64, hours_per_week: f64) -> (f64, f64, f64) {
    let hour = if hours_per_week > 0.0 { round2(month_wage / (hours_per_week * 4.33)) } else { 0.0 };
    (hour, month_wage, (month_wage * 12.96).round())
}

pub(crate) fn employee_type(hours_per_week: f64) -> &'static str {
    if hours_per_week >= 36.0 { "fulltime" } else { "parttime" }
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn opt_day(d: Option<NaiveDate>) -> Value {
    d.map_or(Value::Null, |d| Value::String(day(d)))
}

impl Employment {
    pub fn current_salary(&self) -> Option<&SalaryPeriod> {
        self.salary.iter().max_by_key(|p| p.span.start_date)
    }

    pub fn current_hours(&self) -> Option<&HoursPeriod> {
        self.hours.iter().max_by_key(|p| p.span.start_date)
    }

    pub fn current_contract(&self) -> Option<&ContractPeriod> {
        self.contracts.iter().max_by_key(|p| p.span.start_date)
    }

    pub fn hours_per_week(&self) -> f64 {
        self.current_hours().map_or(40.0, |h| h.hours_per_week)
    }

    /// The embedded current `employment` of an employee record.
    fn embedded_json(&self) -> Value {
        let hours = self.current_hours();
        let hpw = self.hours_per_week();
        let contract = self.current_contract();
        let salary = self.current_salary();
        json!({
            "start_date": day(self.start_date),
            "end_date": opt_day(self.end_date),
            "contract": {
                "start_date": contract.map(|c| day(c.span.start_date)),
                "end_date": opt_day(contract.and_then(|c| c.span.end_date)),
                "hours_per_week": hpw,
                "max_hours": hpw,
                "min_hours": hpw,
                "days_per_week": hours.map_or(5, |h| h.days_per_week),
                "employee_type": employee_type(hpw),
            },
            "salary": {
                "start_date": salary.map(|s| day(s.span.start_date)),
                "end_date": opt_day(salary.and_then(|s| s.span.end_date)),
                "hour_wage": salary.map(|s| s.hour_wage),
                "month_wage": salary.map(|s| s.month_wage),
                "yearly_wage": salary.map(|s| s.yearly_wage),
            },
            "tax_details": {
                "start_date": day(self.start_date),
                "is_reduction_applied": self.tax_reduction,
            },
        })
    }
}

fn span_fields(span: &Span, mut extra: Value) -> Value {
    if let Value::Object(map) = &mut extra {
        map.insert("id".into(), json!(span.id));
        map.insert("start_date".into(), json!(day(span.start_date)));
        map.insert("end_date".into(), opt_day(span.end_date));
        map.insert("is_active".into(), json!(span.is_active));
    }
    extra
}

impl Employee {
    pub fn display_name(&self) -> String {
        match &self.surname_prefix {
            Some(p) => format!("{} {} {}", self.first_name, p, self.surname),
            None => format!("{} {}", self.first_name, self.surname),
        }
    }

    pub fn initials(&self) -> String {
        self.first_name.chars().next().map(|c| format!("{c}.")).unwrap_or_default()
    }

    pub fn yearly_wage(&self) -> f64 {
        self.employment.current_salary().map_or(0.0, |s| s.yearly_wage)
    }

    /// The record as `GET /employees` and `GET /employees/{id}` return it.
    pub fn to_json(&self) -> Value {
        if let Some(shown) = &self.shown_record {
            return shown.clone();
        }
        self.current_json()
    }

    fn current_json(&self) -> Value {
        let hpw = self.employment.hours_per_week();
        json!({
            "id": self.id,
            "first_name": self.first_name,
            "surname": self.surname,
            "surname_prefix": self.surname_prefix,
            "initials": self.initials(),
            "gender": self.gender,
            "date_of_birth": format!("{}T00:00:00", day(self.date_of_birth)),
            "email": self.email,
            "phone_number": self.phone_number,
            "street": self.street,
            "housenumber": self.housenumber,
            "zipcode": self.zipcode,
            "city": self.city,
            "country_code": "NL",
            "iban": self.iban,
            "status": self.status,
            "employee_number": self.employee_number,
            "employee_type_id": if hpw >= 36.0 { 1 } else { 2 },
            "administration_id": self.administration_id,
            "yearly_wage": self.yearly_wage(),
            "dt_create": self.dt_create,
            "dt_update": self.dt_update,
            "employment": self.employment.embedded_json(),
            "custom_fields": {},
        })
    }

    /// The items of `GET /employees/{id}/employments` `data`.
    pub fn employments_json(&self) -> Vec<Value> {
        if self.history != History::Visible {
            return Vec::new();
        }
        let e = &self.employment;
        let mut salary: Vec<&SalaryPeriod> = e.salary.iter().collect();
        salary.sort_by_key(|p| p.span.start_date);
        let mut hours: Vec<&HoursPeriod> = e.hours.iter().collect();
        hours.sort_by_key(|p| p.span.start_date);
        let mut contracts: Vec<&ContractPeriod> = e.contracts.iter().collect();
        contracts.sort_by_key(|p| p.span.start_date);
        let last_name = match &self.surname_prefix {
            Some(p) => format!("{p} {}", self.surname),
            None => self.surname.clone(),
        };
        vec![json!({
            "start_date": day(e.start_date),
            "end_date": opt_day(e.end_date),
            "employee": {
                "first_name": self.first_name,
                "last_name": last_name,
                "display_name": self.display_name(),
            },
            "salary": salary.iter().map(|p| span_fields(&p.span, json!({
                "hour_wage": p.hour_wage,
                "month_wage": p.month_wage,
                "yearly_wage": p.yearly_wage,
            }))).collect::<Vec<_>>(),
            "hours": hours.iter().map(|p| span_fields(&p.span, json!({
                "hours_per_week": p.hours_per_week,
                "days_per_week": p.days_per_week,
                "employee_type": employee_type(p.hours_per_week),
            }))).collect::<Vec<_>>(),
            "contracts": contracts.iter().map(|p| span_fields(&p.span, json!({
                "contract_duration": if p.permanent { "permanent" } else { "fixed" },
                "is_signed": p.is_signed,
                "sign_date": opt_day(p.sign_date),
            }))).collect::<Vec<_>>(),
        })]
    }

    /// Ground truth: the record plus its `employments`.
    pub fn ground_truth_json(&self) -> Value {
        let mut v = self.to_json();
        if let Value::Object(map) = &mut v {
            map.insert("employments".into(), Value::Array(self.employments_json()));
        }
        v
    }
}
