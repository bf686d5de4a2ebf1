//! Synthetic input for change detection: `n` employees, each with 10 employment periods
//! (4 salary, 3 hours, 3 contract) and a previous and current record. Shared by the
//! criterion bench (`benches/change_detection.rs`) and `examples/bench` (database write rate).

use employes_sync::domain::{
    Change, History, KeyedChange, RecordDiff, for_each_history_change, for_each_record_change, sort_for_insert,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// One employee's input to the changes stage.
pub struct Input {
    pub id: Uuid,
    pub employments: Vec<Value>,
    pub previous: Value,
    pub current: Value,
}

fn record(i: usize, version: usize) -> Value {
    json!({
        "id": Uuid::from_u128(i as u128).to_string(),
        "first_name": format!("First{i}"),
        "surname": format!("Surname{}", if version > 1 && i.is_multiple_of(10) { i + 1 } else { i }),
        "surname_prefix": null,
        "initials": "A.B.",
        "gender": "female",
        "date_of_birth": "1990-01-01",
        "email": format!("person{i}@example.nl"),
        "phone_number": "0612345678",
        "street": "Main street",
        "housenumber": (i % 200).to_string(),
        "zipcode": "1234AB",
        "city": if version > 1 && i.is_multiple_of(25) { "Utrecht" } else { "Amsterdam" },
        "country_code": "NL",
        "iban": "NL00BANK0123456789",
        "status": if version > 1 && i.is_multiple_of(50) { "out of service" } else { "active" },
        "dt_update": format!("2026-01-{:02}T00:00:00", 1 + version),
    })
}

/// `n` employees; about 7 changes each (3 salary, 2 hours, 2 contract, some record diffs).
pub fn generate(n: usize) -> Vec<Input> {
    (0..n)
        .map(|i| {
            let base = 2500 + (i % 1000) as i64;
            let salary: Vec<Value> = (0..4)
                .map(|y| json!({"start_date": format!("{}-01-01", 2022 + y), "month_wage": base + 70 * y as i64, "hour_wage": null}))
                .collect();
            let hours: Vec<Value> = (0..3)
                .map(|y| json!({"start_date": format!("{}-03-01", 2022 + y), "hours_per_week": 32 + 4 * y}))
                .collect();
            let contracts = vec![
                json!({"start_date": "2022-01-01", "end_date": "2022-12-31", "contract_duration": "fixed"}),
                json!({"start_date": "2023-01-01", "end_date": "2023-12-31", "contract_duration": "fixed"}),
                json!({"start_date": "2024-01-01", "end_date": null, "contract_duration": "permanent"}),
            ];
            Input {
                id: Uuid::from_u128(i as u128 + 1),
                employments: vec![json!({"salary": salary, "hours": hours, "contracts": contracts})],
                previous: record(i, 1),
                current: record(i, 2),
            }
        })
        .collect()
}

/// The pure work of the changes stage for one session: record diffs and history transitions,
/// walked in employee order, each change's key computed once, put in insert order (as
/// `sync::stages::changes` does before the batched insert).
pub fn detect_all(inputs: &[Input]) -> Vec<KeyedChange> {
    let mut by_employee: Vec<(usize, &Input)> = inputs.iter().enumerate().collect();
    by_employee.sort_unstable_by_key(|(_, e)| e.id);
    let mut found = Vec::new();
    for (v, e) in by_employee {
        let mut keep = |c: Change| found.push(c.keyed());
        let diff = RecordDiff {
            employee_id: e.id,
            previous: Some(&e.previous),
            current: Some(&e.current),
            version: (v % 7) as i32 + 2,
            baseline: false,
        };
        for_each_record_change(&diff, &mut keep);
        for_each_history_change(e.id, &History::from_employments(&e.employments), &mut keep);
    }
    sort_for_insert(&mut found);
    found
}
