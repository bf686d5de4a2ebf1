//! Mutations through the control API and how the Employes API shows them.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_salary_mutation_appends_a_period_and_closes_the_previous_one() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    let resp = sim
        .control("mutations", json!({"kind":"salary","employee_id":id,"month_wage":2900,"start_date":"2026-12-01"}))
        .await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json")["employee_id"], id);
    let history = sim.api_json(&format!("employees/{id}/employments")).await;
    let salary = history["data"][0]["salary"].as_array().expect("salary").clone();
    assert_eq!(salary.len(), 2);
    assert_eq!(salary[0]["end_date"], "2026-11-30");
    assert_eq!(salary[0]["is_active"], false);
    assert_eq!(salary[1]["start_date"], "2026-12-01");
    assert_eq!(salary[1]["month_wage"], 2900.0);
    assert_eq!(salary[1]["end_date"], Value::Null);
    let list = sim.api_json("employees?per_page=1").await;
    let record = &list["data"][0];
    assert_eq!(record["employment"]["salary"]["month_wage"], 2900.0);
    assert_eq!(record["yearly_wage"], (2900.0_f64 * 12.96).round());
}

#[tokio::test]
async fn hire_terminate_and_delete_mutations_are_visible_through_the_api() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    let hired: Value =
        sim.control("mutations", json!({"kind":"hire","first_name":"Nieuw"})).await.json().await.expect("json");
    let new_id = hired["employee_id"].as_str().expect("id").to_string();
    let terminated = sim.control("mutations", json!({"kind":"terminate","employee_id":new_id})).await;
    let deleted = sim.control("mutations", json!({"kind":"delete","employee_id":id})).await;

    // Assert
    assert_eq!(terminated.status(), 200);
    assert_eq!(deleted.status(), 200);
    assert_eq!(sim.api(&format!("employees/{id}")).await.status(), 404);
    assert_eq!(sim.api(&format!("employees/{id}/employments")).await.status(), 404);
    let list = sim.api_json("employees?per_page=100&page=2").await;
    assert_eq!(list["total"], 110);
    let new = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|e| e["id"] == new_id.as_str())
        .expect("hired employee listed")
        .clone();
    assert_eq!(new["first_name"], "Nieuw");
    assert_eq!(new["status"], "out of service");
    assert!(new["employment"]["end_date"].is_string());
    let history = sim.api_json(&format!("employees/{new_id}/employments")).await;
    let e = &history["data"][0];
    for kind in ["salary", "hours", "contracts"] {
        assert_eq!(e[kind].as_array().expect(kind).len(), 1, "{kind}");
    }
    let truth = sim.truth().await;
    assert!(employees(&truth).iter().all(|e| e["id"] != id.as_str()));
}

#[tokio::test]
async fn a_personal_mutation_changes_the_field() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    sim.control("mutations", json!({"kind":"personal","employee_id":id,"field":"email","value":"nieuw@example.nl"}))
        .await;

    // Assert
    let detail = sim.api_json(&format!("employees/{id}")).await;
    let record = if detail.get("data").is_some() { &detail["data"] } else { &detail };
    assert_eq!(record["email"], "nieuw@example.nl");
}

#[tokio::test]
async fn bad_mutations_are_rejected_with_400() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let bad = [
        json!({"kind":"promotion","employee_id":id}),
        json!({"kind":"salary","employee_id":Uuid::new_v4(),"month_wage":3000,"start_date":"2026-01-01"}),
        json!({"kind":"salary","employee_id":id,"month_wage":3000}),
        json!({"kind":"salary","employee_id":id,"month_wage":3000,"start_date":"2026-13-01"}),
        json!({"kind":"salary","employee_id":id,"month_wage":-5,"start_date":"2026-01-01"}),
        json!({"kind":"hours","employee_id":id,"start_date":"2026-01-01"}),
        json!({"kind":"contract","employee_id":id,"contract_duration":"forever","start_date":"2026-01-01"}),
        json!({"kind":"status","employee_id":id,"status":"sleeping"}),
        json!({"kind":"personal","employee_id":id,"field":"iban","value":"NL00"}),
        json!({"employee_id":id}),
    ];

    for body in bad {
        // Act
        let resp = sim.control("mutations", body.clone()).await;

        // Assert
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"].is_string() && err["message"].is_string());
    }
}
