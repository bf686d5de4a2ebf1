//! Deterministic generation of the simulated companies from a seed.

use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use uuid::Uuid;

use super::data::{
    ContractPeriod, Employee, Employment, History, HoursPeriod, SalaryPeriod, Span, World, salary_from_month,
};
use super::names::{CITIES, HOURS, Person, STREETS, email_for, iban, person};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// A 64-bit mix of `seed` and `n` (splitmix64 finaliser): distinct inputs give unrelated outputs.
pub(crate) fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of the `k`-th company's data set: the simulator's seed for the first (so a
/// one-company simulator serves exactly the first version's data), a mix for the others.
pub(crate) fn company_seed(seed: u64, k: usize) -> u64 {
    if k == 0 { seed } else { mix(seed ^ 0xda7a_5e75, k as u64) }
}

/// A random v4-shaped UUID from the generator (deterministic for a seed).
pub(crate) fn rng_uuid(rng: &mut StdRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid()
}

fn rand_date(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    let span = (to - from).num_days().max(0);
    from + Duration::days(rng.gen_range(0..=span))
}

pub(crate) fn days_for(hours_per_week: f64) -> u32 {
    ((hours_per_week / 8.0).ceil() as u32).clamp(1, 5)
}

/// Builds one employee; `start` is the hire date, periods are single and open.
pub(crate) fn employee(rng: &mut StdRng, number: i64, company: Uuid, start: NaiveDate, person: Person) -> Employee {
    let id = rng_uuid(rng);
    let hpw = HOURS.choose(rng).copied().unwrap_or(40.0);
    let month = f64::from(rng.gen_range(2200..=5800u32));
    let (hour_wage, month_wage, yearly_wage) = salary_from_month(month, hpw);
    let permanent = rng.gen_bool(0.7);
    let contract_end = (!permanent).then(|| date(rng.gen_range(2026..=2027), 12, 31));
    let dob = rand_date(rng, date(1962, 1, 1), date(2003, 12, 31));
    let email = email_for(&person.first_name, person.surname_prefix.as_deref(), &person.surname, number);
    let phone_number = format!("06-{:08}", rng.gen_range(10_000_000..100_000_000u32));
    let street = STREETS.choose(rng).copied().unwrap_or("Kerkstraat").to_string();
    let housenumber = rng.gen_range(1..=250u32).to_string();
    let letters: String = (0..2).map(|_| char::from(b'A' + rng.gen_range(0..26u8))).collect();
    let zipcode = format!("{} {letters}", rng.gen_range(1000..=9999u32));
    let city = CITIES.choose(rng).copied().unwrap_or("Utrecht").to_string();
    let iban = iban(rng);
    let dt_create = if rng.gen_bool(0.05) {
        "0001-01-01T00:00:00".to_string()
    } else {
        format!("{}T09:00:00", start.format("%Y-%m-%d"))
    };
    let updated = rand_date(rng, date(2025, 1, 1), date(2025, 6, 30));
    let dt_update =
        format!("{}T{:02}:{:02}:00", updated.format("%Y-%m-%d"), rng.gen_range(7..18), rng.gen_range(0..60));
    let tax_reduction = rng.gen_bool(0.8);
    let salary = SalaryPeriod { span: Span::open(rng_uuid(rng), start), hour_wage, month_wage, yearly_wage };
    let hours =
        HoursPeriod { span: Span::open(rng_uuid(rng), start), hours_per_week: hpw, days_per_week: days_for(hpw) };
    let contract = ContractPeriod {
        span: Span { end_date: contract_end, ..Span::open(rng_uuid(rng), start) },
        permanent,
        is_signed: true,
        sign_date: Some(start - Duration::days(rng.gen_range(3..30))),
    };
    Employee {
        id,
        first_name: person.first_name,
        surname: person.surname,
        surname_prefix: person.surname_prefix,
        gender: person.gender,
        date_of_birth: dob,
        email,
        phone_number,
        street,
        housenumber,
        zipcode,
        city,
        iban,
        status: "active".to_string(),
        employee_number: number,
        administration_id: Uuid::new_v5(&company, b"administration"),
        dt_create,
        dt_update,
        history: History::Visible,
        employment: Employment {
            start_date: start,
            end_date: None,
            tax_reduction,
            salary: vec![salary],
            hours: vec![hours],
            contracts: vec![contract],
        },
        shown_record: None,
    }
}

/// Closes `span` the day before `next_start`.
fn close(span: &mut Span, next_start: NaiveDate) {
    span.end_date = next_start.pred_opt();
    span.is_active = false;
}

/// One company's seeded data set: `employees` records, the first `with_history` with history
/// and exactly three transitions (salary 2577→2709, hours 30→40, contract fixed→permanent).
pub(crate) fn generate(seed: u64, company: Uuid, employees: usize, with_history: usize) -> World {
    let count = employees;
    let with_history = with_history.min(count);
    let mut employees = Vec::with_capacity(count);
    let mut no_history = 0usize;
    for i in 0..count {
        // One generator per employee: a larger data set keeps the first records equal.
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64);
        let start = rand_date(&mut rng, date(2012, 1, 1), date(2022, 12, 31));
        let who = person(&mut rng);
        let mut e = employee(&mut rng, 1001 + i as i64, company, start, who);
        if i >= with_history {
            e.history = if no_history.is_multiple_of(2) { History::NotFound } else { History::Empty };
            no_history += 1;
        }
        employees.push(e);
    }
    let mut pick = StdRng::seed_from_u64(seed ^ 0x7a5e_0003);
    if with_history >= 3 {
        let idx = rand::seq::index::sample(&mut pick, with_history, 3).into_vec();
        add_transitions(&mut employees, &idx, &mut pick);
    }
    World { employees, rng: StdRng::seed_from_u64(seed ^ 0x0417_7a7e) }
}

fn add_transitions(employees: &mut [Employee], idx: &[usize], rng: &mut StdRng) {
    if let Some(e) = idx.first().and_then(|&i| employees.get_mut(i)) {
        let hpw = e.employment.hours_per_week();
        let em = &mut e.employment;
        if let Some(first) = em.salary.first_mut() {
            let (h, m, y) = salary_from_month(2577.0, hpw);
            (first.hour_wage, first.month_wage, first.yearly_wage) = (h, m, y);
            let next_start = date(2025, 1, 1);
            close(&mut first.span, next_start);
            let (hour_wage, month_wage, yearly_wage) = salary_from_month(2709.0, hpw);
            em.salary.push(SalaryPeriod {
                span: Span::open(rng_uuid(rng), next_start),
                hour_wage,
                month_wage,
                yearly_wage,
            });
        }
    }
    if let Some(e) = idx.get(1).and_then(|&i| employees.get_mut(i)) {
        let em = &mut e.employment;
        let next_start = date(2025, 3, 1);
        if let Some(first) = em.hours.first_mut() {
            first.hours_per_week = 30.0;
            first.days_per_week = days_for(30.0);
            close(&mut first.span, next_start);
        }
        em.hours.push(HoursPeriod {
            span: Span::open(rng_uuid(rng), next_start),
            hours_per_week: 40.0,
            days_per_week: 5,
        });
        // The salary follows the current (40 h) schedule.
        if let Some(s) = em.salary.first_mut() {
            (s.hour_wage, s.month_wage, s.yearly_wage) = salary_from_month(s.month_wage, 40.0);
        }
    }
    if let Some(e) = idx.get(2).and_then(|&i| employees.get_mut(i)) {
        let em = &mut e.employment;
        let next_start = date(2024, 7, 1);
        if let Some(first) = em.contracts.first_mut() {
            first.permanent = false;
            close(&mut first.span, next_start);
        }
        let sign = next_start - Duration::days(14);
        em.contracts.push(ContractPeriod {
            span: Span::open(rng_uuid(rng), next_start),
            permanent: true,
            is_signed: true,
            sign_date: Some(sign),
        });
    }
}

/// Today's date is used only by mutations (never by the seeded data set).
pub(crate) fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// `YYYY-MM-DDTHH:MM:SS` for now (the record's `dt_update` format).
pub(crate) fn now_stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Adds a new active employee (today's bookkeeping stamps) and returns its id.
pub(crate) fn hire(
    world: &mut World,
    company: Uuid,
    first_name: Option<String>,
    surname: Option<String>,
    start: NaiveDate,
) -> Uuid {
    let mut who = person(&mut world.rng);
    if let Some(f) = first_name {
        who.first_name = f;
    }
    if let Some(s) = surname {
        who.surname = s;
        who.surname_prefix = None;
    }
    let number = world.employees.iter().map(|e| e.employee_number).max().unwrap_or(1000) + 1;
    let mut e = employee(&mut world.rng, number, company, start, who);
    e.dt_create = now_stamp();
    e.dt_update = e.dt_create.clone();
    let id = e.id;
    world.employees.push(e);
    id
}
