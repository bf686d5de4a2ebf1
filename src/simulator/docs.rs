//! The OpenAPI document of the control API (`GET /_sim/openapi.json`): its frame, and the
//! shapes of bodies and answers. Paths come from the handlers' `#[utoipa::path]` (control.rs),
//! registered together with their routes, so a route cannot go undocumented. The handlers
//! read bodies field by field (for errors naming the field); the types below only describe them.
#![allow(dead_code)] // Types that only describe JSON for the document are never built.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Employes simulator control API",
        description = "The control API of `employes-sync simulate` (and of the simulator built into `serve`): \
faults, request counters, ground truth, companies and mutations. No authentication; never rate limited or \
delayed. Routes about one company take `company_id` (a body field for POST, a query parameter for GET and \
DELETE) and default to the first company. The Employes API itself is served under `/v4` in the shapes of \
https://connect.employes.nl/v4 (`GET /v4/companies`, `/v4/{company_id}/employees[/{id}[/employments]]`, \
`/v4/{company_id}/payruns`)."
    ),
    tags(
        (name = "faults", description = "Injected errors, timeouts, malformed answers, a revoked key; rate limit and latency"),
        (name = "stats", description = "Request counters of /v4"),
        (name = "ground truth", description = "What the simulator holds, for tests to compare with"),
        (name = "mutations", description = "Changes upstream, each followed by a signed webhook when a URL is set"),
    )
)]
pub(crate) struct SimApiDoc;

/// `?company_id=` of the `GET`/`DELETE` control routes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CompanyQuery {
    /// The company (`GET /_sim/companies` lists them). Without it: the first company for
    /// employees; simulator-wide for faults and stats.
    #[param(value_type = Option<Uuid>)]
    pub company_id: Option<String>,
}

/// `{"company_id"?}`.
#[derive(ToSchema)]
pub(crate) struct CompanyBody {
    /// The company; without it, every company.
    company_id: Option<Uuid>,
}

/// An error: `{"error": code, "message": text}`; mutation errors also name the `field`.
#[derive(ToSchema)]
pub(crate) struct ErrorBody {
    /// `bad_request`, `unknown_company`, `invalid_mutation`, `unknown_kind`, `unknown_employee`
    error: String,
    message: String,
    /// The body field at fault, e.g. `contracts[1].end_date` (mutations only).
    field: Option<String>,
}

/// Any subset of the fault settings.
#[derive(ToSchema)]
pub(crate) struct FaultsPatch {
    /// Only this company's faults (decided before the simulator-wide ones); without it, simulator-wide.
    company_id: Option<Uuid>,
    /// Share of requests answered with `error_status` (0–1).
    error_rate: Option<f64>,
    /// Status of injected errors (400–599; 429 carries `Retry-After: retry_after`). Default 503.
    error_status: Option<u16>,
    /// Share of requests held for a minute without an answer (0–1).
    timeout_rate: Option<f64>,
    /// Share of requests answered 200 with invalid JSON (0–1).
    malformed_rate: Option<f64>,
    /// The next N requests fail with `error_status`.
    fail_next: Option<u64>,
    /// `Retry-After` seconds of injected 429s (1–3600).
    retry_after: Option<u64>,
    /// Every request answers 401, whatever its token (a revoked key).
    reject_auth: Option<bool>,
    /// Endpoints the faults hit (`list`, `detail`, `employments`, `payruns`, `companies`); null = all.
    endpoints: Option<Vec<String>>,
    /// Requests per second per bearer token over all companies (simulator-wide only).
    rate_limit: Option<u32>,
    /// Latency added to each `/v4` answer; per company it replaces the simulator-wide one (null: no longer).
    latency_ms: Option<u64>,
}

/// The fault configuration in force (a company's has `company_id` and no `rate_limit`).
#[derive(ToSchema)]
pub(crate) struct FaultState {
    company_id: Option<Uuid>,
    error_rate: f64,
    error_status: u16,
    timeout_rate: f64,
    malformed_rate: f64,
    fail_next: u64,
    retry_after: u64,
    reject_auth: bool,
    endpoints: Option<Vec<String>>,
    rate_limit: Option<u32>,
    latency_ms: Option<u64>,
}

/// Counters of one company.
#[derive(ToSchema)]
pub(crate) struct CompanyStats {
    /// Present when the route was asked about one company.
    company_id: Option<Uuid>,
    requests: u64,
    /// Requests per endpoint: `list`, `detail`, `employments`, `payruns`.
    by_endpoint: BTreeMap<String, u64>,
    rate_limited: u64,
    errors_injected: u64,
}

/// Simulator-wide counters with `by_company`, or one company's (`?company_id=`).
#[derive(ToSchema)]
pub(crate) struct StatsAnswer {
    requests: u64,
    /// Requests per endpoint (simulator-wide also `companies`).
    by_endpoint: BTreeMap<String, u64>,
    rate_limited: u64,
    errors_injected: u64,
    /// Company id → its counters (simulator-wide answer only).
    by_company: Option<BTreeMap<String, CompanyStats>>,
    /// The company asked about (one company's answer only).
    company_id: Option<Uuid>,
}

/// `{"company_id", "employees": [record + "employments"]}`.
#[derive(ToSchema)]
pub(crate) struct EmployeesAnswer {
    company_id: Uuid,
    /// Each record as `GET /v4/{company_id}/employees/{id}` shows it, plus its `employments`
    /// (as `…/employments` answers them; empty when it has none).
    employees: Vec<serde_json::Value>,
}

/// One company.
#[derive(ToSchema)]
pub(crate) struct CompanySummary {
    id: Uuid,
    name: String,
    /// Employees now (after hires and deletions).
    employees: u64,
    with_history: u64,
    /// Whether it accepts only its own key (`--company-key`).
    key_required: bool,
}

/// `{"companies": [..]}`.
#[derive(ToSchema)]
pub(crate) struct CompaniesAnswer {
    companies: Vec<CompanySummary>,
}

/// `{"employee_id"}` of the employee the mutation touched (or hired).
#[derive(ToSchema)]
pub(crate) struct MutationAnswer {
    employee_id: Uuid,
}

/// One contract of `contracts` (`contracts` and `hire` mutations).
#[derive(ToSchema)]
pub(crate) struct ContractItem {
    /// `fixed` or `permanent`.
    contract_duration: String,
    start_date: NaiveDate,
    /// May be absent for a `fixed` contract too (one ending on an event); not before `start_date`.
    end_date: Option<NaiveDate>,
    /// Default true.
    is_signed: Option<bool>,
    /// Default `start_date` when signed.
    sign_date: Option<NaiveDate>,
}

/// One mutation; every kind also takes `company_id` (default the first company), and all but
/// `hire` an `employee_id`. Dates are `YYYY-MM-DD`. Kinds other than `hire` and `delete` take
/// `"touch_record": false` to leave the employee record untouched (only the employments show the edit).
#[derive(ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Mutation {
    /// Appends a salary period (exactly one of `month_wage`, `hour_wage`), closing the previous one.
    Salary {
        company_id: Option<Uuid>,
        employee_id: Uuid,
        month_wage: Option<f64>,
        hour_wage: Option<f64>,
        start_date: NaiveDate,
    },
    /// Appends an hours period.
    Hours {
        company_id: Option<Uuid>,
        employee_id: Uuid,
        hours_per_week: f64,
        days_per_week: Option<u8>,
        start_date: NaiveDate,
    },
    /// Appends a contract period (`contract_duration` fixed or permanent).
    Contract {
        company_id: Option<Uuid>,
        employee_id: Uuid,
        contract_duration: String,
        start_date: NaiveDate,
        end_date: Option<NaiveDate>,
    },
    /// Replaces the contracts of the employee's latest employment (1–100, any order, overlaps allowed).
    Contracts { company_id: Option<Uuid>, employee_id: Uuid, contracts: Vec<ContractItem> },
    /// Sets the status: `pending`, `active` or `out of service`.
    Status { company_id: Option<Uuid>, employee_id: Uuid, status: String },
    /// Out of service today: current periods end today; the employee stays listed.
    Terminate { company_id: Option<Uuid>, employee_id: Uuid },
    /// A new active employee with one employment (salary, hours, contract), starting
    /// `start_date` (default: the first of `contracts`, else today).
    Hire {
        company_id: Option<Uuid>,
        first_name: Option<String>,
        surname: Option<String>,
        start_date: Option<NaiveDate>,
        contracts: Option<Vec<ContractItem>>,
    },
    /// Changes a personal field: `email`, `phone_number`, `street`, `housenumber`, `zipcode`, `city` or `surname`.
    Personal { company_id: Option<Uuid>, employee_id: Uuid, field: String, value: String },
    /// Removes the employee (the API then answers 404 for it).
    Delete { company_id: Option<Uuid>, employee_id: Uuid },
}
