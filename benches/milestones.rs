//! Milestone evaluation on 100,000 employees × 5 contracts (plus 3 salary and 2 hours periods
//! and a recorded change each): one full daily pass of the pure work — read the stored
//! `/employments` payload, derive, plan against yesterday's rows, and compute the ids of
//! every row and event to write — on one core. Target: < 0.5 s, memory linear.
//!
//! `cargo bench --bench milestones` (writes `target/bench-results/milestones_memory.json`).

use std::{hint::black_box, time::Duration};

use chrono::NaiveDate;
use criterion::{BatchSize, Criterion};
use employes_sync::domain::milestones::{
    ChainSettings, EffectiveChangeType, EmployeeFacts, RecordedChange, Reminders, Row, Step, Write, derive, plan,
};
use serde_json::{Value, json};
use testkit::alloc::{Counting, peak_of, write_results};
use uuid::Uuid;

/// Counts live heap bytes and their peak, to show memory grows linearly with employees.
#[global_allocator]
static ALLOC: Counting = Counting;

const COMPANY: Uuid = Uuid::from_u128(0xc0);

/// One employee as the daily evaluation reads them: stored payload, changes, yesterday's rows.
struct Input {
    id: Uuid,
    out_of_service: bool,
    employments: Vec<Value>,
    changes: Vec<RecordedChange>,
    stored: Vec<Row>,
}

fn date(y: i32, m: u32, d: u32) -> String {
    NaiveDate::from_ymd_opt(y, m, d).expect("bench date").to_string()
}

/// Five contracts in one of five shapes (a passed chain, a chain ended by a permanent contract,
/// a broken chain at its limit, yearly contracts passing 36 months, an employee who left), so
/// every kind of milestone appears.
fn contracts(i: usize) -> Vec<Value> {
    let fixed =
        |s: String, e: String| json!({"start_date": s, "end_date": e, "contract_duration": "fixed", "is_signed": true});
    let yearly = |y: i32, m: u32| {
        let start = NaiveDate::from_ymd_opt(y, m, 1).expect("bench date");
        let end = start.checked_add_months(chrono::Months::new(12)).and_then(|d| d.pred_opt()).expect("bench date");
        fixed(start.to_string(), end.to_string())
    };
    let y = 2022 + (i % 2) as i32;
    let m = 1 + (i % 12) as u32;
    match i % 5 {
        0 | 4 => (0..5)
            .map(|k| fixed(date(y + k / 2, 1 + 6 * (k as u32 % 2), 1), date(y + k / 2, 6 + 6 * (k as u32 % 2), 30)))
            .collect(),
        1 => {
            let mut c: Vec<Value> = (0..4).map(|k| yearly(y + k, m)).collect();
            c.push(json!({"start_date": date(y + 4, m, 1), "end_date": null, "contract_duration": "permanent"}));
            c
        }
        2 => (0..5)
            .map(|k| {
                let start = if k < 2 { y + k } else { y + k + 1 };
                fixed(date(start, m, 1), date(start, m, 28))
            })
            .collect(),
        _ => (0..5).map(|k| yearly(y + k, m)).collect(),
    }
}

fn generate(n: usize, yesterday: NaiveDate) -> Vec<Input> {
    let settings = ChainSettings::default();
    let reminders = Reminders::default();
    (0..n)
        .map(|i| {
            let base = 2500 + (i % 1000) as i64;
            let salary: Vec<Value> = (0..3)
                .map(|y| json!({"start_date": date(2023 + y, 1, 1), "end_date": null, "month_wage": if i % 7 == 0 { Value::Null } else { json!(base + 70 * y as i64) }, "hour_wage": 15.5 + y as f64}))
                .collect();
            let hours: Vec<Value> = (0..2)
                .map(|y| json!({"start_date": date(2023 + y, 3, 1), "end_date": null, "hours_per_week": 32 + 4 * y}))
                .collect();
            let employments = vec![json!({"contracts": contracts(i), "salary": salary, "hours": hours})];
            let changes = vec![RecordedChange {
                change_id: Uuid::from_u128(i as u128 + 0x10_0000),
                change_type: EffectiveChangeType::SalaryChange,
                // Spread over 120 days, so every day has reminders and due dates.
                effective_date: day("2026-01-01").checked_add_days(chrono::Days::new((i % 120) as u64)),
                detected_on: NaiveDate::from_ymd_opt(2025, 12, 1).expect("date"),
            }];
            let id = Uuid::from_u128(i as u128 + 1);
            let out_of_service = i % 5 == 4;
            let employee = EmployeeFacts { company_id: COMPANY, employee_id: id, out_of_service, employments: &employments, changes: &changes };
            let stored = plan(&[], &derive(&employee, &settings), yesterday, &reminders).into_iter().map(|s| s.row).collect();
            Input { id, out_of_service, employments, changes, stored }
        })
        .collect()
}

/// What the storage layer would write: each step with its row id and event id.
type Written = (Uuid, Step, Option<Uuid>);

/// One full pass over every employee, as the daily evaluation runs it.
fn evaluate_all(inputs: &[Input], today: NaiveDate) -> (Vec<Written>, usize) {
    let (settings, reminders) = (ChainSettings::default(), Reminders::default());
    let mut written = Vec::new();
    let mut data_errors = 0;
    for e in inputs {
        let employee = EmployeeFacts {
            company_id: COMPANY,
            employee_id: e.id,
            out_of_service: e.out_of_service,
            employments: &e.employments,
            changes: &e.changes,
        };
        let derivation = derive(&employee, &settings);
        data_errors += derivation.data_errors.len();
        for step in plan(&e.stored, &derivation, today, &reminders) {
            let id = step.row.milestone.key.id();
            written.push((id, step, step.event.map(|ev| ev.id(id))));
        }
    }
    (written, data_errors)
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("bench date")
}

/// Peak extra heap of one first pass (beyond its input) at several sizes.
fn memory_scaling() -> Vec<(usize, usize, usize)> {
    [10_000, 50_000, 100_000]
        .into_iter()
        .map(|n| {
            // The first pass (nothing stored yet) writes the most.
            let inputs: Vec<Input> =
                generate(n, day("2026-01-10")).into_iter().map(|e| Input { stored: Vec::new(), ..e }).collect();
            let (rows, peak) = peak_of(|| evaluate_all(&inputs, day("2026-01-11")).0.len());
            eprintln!("memory: {n} employees -> {rows} rows to write, peak {} KiB over the input", peak / 1024);
            (n, rows, peak)
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let inputs = generate(100_000, day("2026-01-10"));
    let stored: usize = inputs.iter().map(|e| e.stored.len()).sum();
    let (written, data_errors) = evaluate_all(&inputs, day("2026-01-11"));
    let inserts = written.iter().filter(|(_, s, _)| s.write == Write::Insert).count();
    let events = written.iter().filter(|(_, _, ev)| ev.is_some()).count();
    eprintln!(
        "100,000 employees × 5 contracts: {stored} stored milestones; a pass writes {} rows ({inserts} new), {events} events, {data_errors} data errors",
        written.len()
    );
    let mut g = c.benchmark_group("milestones");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    g.bench_function("daily_pass_100k", |b| {
        b.iter_batched(
            || (),
            |()| black_box(evaluate_all(black_box(&inputs), day("2026-01-11"))),
            BatchSize::PerIteration,
        )
    });
    // The first evaluation of a company: nothing stored yet, every milestone new.
    let fresh: Vec<Input> = inputs.into_iter().map(|e| Input { stored: Vec::new(), ..e }).collect();
    g.bench_function("first_pass_100k", |b| {
        b.iter_batched(
            || (),
            |()| black_box(evaluate_all(black_box(&fresh), day("2026-01-11"))),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn main() {
    let scaling = memory_scaling();
    let rows: Vec<Value> = scaling
        .iter()
        .map(|(n, rows, peak)| json!({"employees": n, "rows_written": rows, "peak_bytes": peak}))
        .collect();
    write_results("milestones_memory.json", &rows);
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
