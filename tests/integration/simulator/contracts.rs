//! The `contracts` mutation and `hire` with `contracts`: exact contract histories, shown in
//! `/employments` and in the record's embedded employment; bad lists refused naming the field.

use serde_json::json;

use super::*;

/// The record of `id` as the detail endpoint shows it (unwrapped).
async fn record(sim: &TestSim, company: Uuid, id: &str) -> Value {
    let detail = sim.api_json_of(company, &format!("employees/{id}")).await;
    if detail.get("data").is_some() { detail["data"].clone() } else { detail }
}

/// `(contract_duration, start_date, end_date)` of each contract `/employments` shows.
async fn contracts_of(sim: &TestSim, company: Uuid, id: &str) -> Vec<(String, String, Value)> {
    let history = sim.api_json_of(company, &format!("employees/{id}/employments")).await;
    history["data"][0]["contracts"]
        .as_array()
        .expect("contracts")
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().expect(k).to_string();
            (text("contract_duration"), text("start_date"), c["end_date"].clone())
        })
        .collect()
}

#[tokio::test]
async fn a_contracts_mutation_replaces_the_contracts_with_exactly_the_dates_given() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let before = record(&sim, sim.company, &id).await;
    let contracts = json!([
        {"contract_duration": "fixed", "start_date": "2024-07-01", "end_date": "2025-06-30"},
        {"contract_duration": "fixed", "start_date": "2023-01-01", "end_date": "2023-12-31"},
        {"contract_duration": "fixed", "start_date": "2024-01-01", "end_date": "2024-06-30"},
    ]);

    // Act
    let resp = sim.control("mutations", json!({"kind": "contracts", "employee_id": id, "contracts": contracts})).await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(
        contracts_of(&sim, sim.company, &id).await,
        vec![
            ("fixed".into(), "2023-01-01".into(), json!("2023-12-31")),
            ("fixed".into(), "2024-01-01".into(), json!("2024-06-30")),
            ("fixed".into(), "2024-07-01".into(), json!("2025-06-30")),
        ]
    );
    let after = record(&sim, sim.company, &id).await;
    assert_eq!(after["employment"]["contract"]["start_date"], "2024-07-01");
    assert_eq!(after["employment"]["contract"]["end_date"], "2025-06-30");
    assert!(after["employment"]["start_date"].as_str().expect("start") <= "2023-01-01");
    assert_ne!(after["dt_update"], before["dt_update"]);
    let truth = sim.truth().await;
    let mine = employees(&truth).iter().find(|e| e["id"] == id.as_str()).expect("in the ground truth").clone();
    assert_eq!(mine["employments"][0]["contracts"].as_array().expect("contracts").len(), 3);
}

#[tokio::test]
async fn a_fixed_contract_without_an_end_date_and_a_permanent_one_are_accepted() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let contracts = json!([
        {"contract_duration": "fixed", "start_date": "2022-03-01"},
        {"contract_duration": "permanent", "start_date": "2023-03-01", "end_date": null, "is_signed": false},
    ]);

    // Act
    let resp = sim.control("mutations", json!({"kind": "contracts", "employee_id": id, "contracts": contracts})).await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(
        contracts_of(&sim, sim.company, &id).await,
        vec![
            ("fixed".into(), "2022-03-01".into(), Value::Null),
            ("permanent".into(), "2023-03-01".into(), Value::Null),
        ]
    );
    let history = sim.api_json_of(sim.company, &format!("employees/{id}/employments")).await;
    let latest = &history["data"][0]["contracts"][1];
    assert_eq!(latest["is_signed"], false);
    assert_eq!(latest["is_active"], true);
    assert_eq!(history["data"][0]["contracts"][0]["is_active"], false);
    assert_eq!(record(&sim, sim.company, &id).await["employment"]["contract"]["end_date"], Value::Null);
}

#[tokio::test]
async fn hire_with_contracts_starts_the_employment_at_the_first_contract() {
    // Arrange
    let sim = start(SimConfig { employees: 5, with_history: 4, ..fast_config() }.with_companies(2)).await;
    let second = sim.company_ids()[1];
    let contracts = json!([
        {"contract_duration": "fixed", "start_date": "2025-02-01", "end_date": "2025-07-31"},
        {"contract_duration": "fixed", "start_date": "2025-08-01", "end_date": "2026-07-31"},
    ]);

    // Act
    let hired = sim
        .server
        .control
        .mutate_in(second, json!({"kind": "hire", "first_name": "Nieuw", "contracts": contracts}))
        .await;

    // Assert
    let id = hired["employee_id"].as_str().expect("id").to_string();
    assert_eq!(
        contracts_of(&sim, second, &id).await,
        vec![
            ("fixed".into(), "2025-02-01".into(), json!("2025-07-31")),
            ("fixed".into(), "2025-08-01".into(), json!("2026-07-31")),
        ]
    );
    let r = record(&sim, second, &id).await;
    assert_eq!(r["first_name"], "Nieuw");
    assert_eq!(r["employment"]["start_date"], "2025-02-01");
    assert_eq!(r["employment"]["contract"]["start_date"], "2025-08-01");
    assert_eq!(r["employment"]["contract"]["end_date"], "2026-07-31");
    assert_eq!(r["employment"]["salary"]["start_date"], "2025-02-01");
    assert_eq!(employees(&sim.truth().await).len(), 5, "hired into the second company only");
    assert_eq!(employees(&sim.server.control.truth_of(second).await).len(), 6);
}

#[tokio::test]
async fn bad_contract_lists_are_refused_with_400_naming_the_field_and_change_nothing() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let ok = json!({"contract_duration": "fixed", "start_date": "2024-01-01", "end_date": "2024-12-31"});
    let cases = [
        (json!([]), "contracts"),
        (json!("fixed"), "contracts"),
        (json!([ok, 5]), "contracts[1]"),
        (json!([{"contract_duration": "forever", "start_date": "2024-01-01"}]), "contracts[0].contract_duration"),
        (json!([ok, {"contract_duration": "fixed"}]), "contracts[1].start_date"),
        (json!([{"contract_duration": "fixed", "start_date": "2024-1-05"}]), "contracts[0].start_date"),
        (json!([{"contract_duration": "fixed", "start_date": "2024-02-30"}]), "contracts[0].start_date"),
        (
            json!([{"contract_duration": "fixed", "start_date": "2024-03-01", "end_date": "2024-02-29"}]),
            "contracts[0].end_date",
        ),
        (json!([{"contract_duration": "fixed", "start_date": "2024-03-01", "end": "2024-12-31"}]), "contracts[0].end"),
        (
            json!([{"contract_duration": "fixed", "start_date": "2024-03-01", "is_signed": "yes"}]),
            "contracts[0].is_signed",
        ),
    ];
    let truth_before = sim.truth().await.to_string();

    for (contracts, field) in cases {
        // Act
        let replace =
            sim.control("mutations", json!({"kind": "contracts", "employee_id": id, "contracts": contracts})).await;
        let hire = sim.control("mutations", json!({"kind": "hire", "contracts": contracts})).await;

        // Assert
        for resp in [replace, hire] {
            assert_eq!(resp.status(), 400, "{contracts}");
            let err: Value = resp.json().await.expect("json");
            assert_eq!(err["error"], "invalid_mutation", "{err}");
            assert_eq!(err["field"], field, "{err}");
            assert!(err["message"].as_str().expect("message").contains(field), "{err}");
        }
    }
    for body in [
        json!({"kind": "contracts", "employee_id": id}),
        json!({"kind": "contracts", "employee_id": id, "contracts": null}),
    ] {
        let missing = sim.control("mutations", body).await;
        assert_eq!(missing.status(), 400);
        assert_eq!(missing.json::<Value>().await.expect("json")["field"], "contracts");
    }
    assert_eq!(sim.truth().await.to_string(), truth_before, "nothing changed");
}
