//! `GET /api/employees/{id}`: the timeline is the simulator's employment history (contracts set
//! exactly with the `contracts` mutation), the changes and milestones are the employee's own as
//! their lists show them, and an unknown or erased employee is not found.

use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::milestones::{env_on, fixed, set_contracts};

/// The simulator's periods of `key`, as the timeline shows them (`fields` besides the dates).
fn periods(truth: &Value, key: &str, fields: &[&str]) -> Vec<Value> {
    let mut out: Vec<Value> = truth["employments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e[key].as_array().unwrap().iter())
        .map(|p| {
            let mut v = json!({"start_date": p["start_date"], "end_date": p["end_date"]});
            for f in fields {
                v[*f] = p[*f].clone();
            }
            v
        })
        .collect();
    out.sort_by_key(|p| p["start_date"].as_str().unwrap().to_string());
    out
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn an_employee_page_has_the_simulators_history_and_their_own_changes_and_milestones() {
    // Arrange: A's contracts are a chain of three fixed ones (the last ends 2026-01-31), with a
    // raise dated after "today".
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    let a = app.sim.employee_id(0).await;
    let chain = json!([
        fixed("2023-02-01", "2024-01-31"),
        fixed("2024-02-01", "2025-01-31"),
        fixed("2025-02-01", "2026-01-31")
    ]);
    set_contracts(&app, &a, chain).await;
    app.sim.mutate(json!({"kind": "salary", "employee_id": a, "month_wage": 4321, "start_date": "2027-03-01"})).await;
    app.sync_and_wait(None).await;
    let truth = app.sim.truth().await["employees"].as_array().unwrap().clone();
    let of_a = truth.iter().find(|t| t["id"] == a.as_str()).unwrap();

    // Act
    let detail = app.get_json(&format!("/api/employees/{a}")).await;

    // Assert: the employee as the list shows them, plus the timeline.
    let listed = app.get_json(&format!("/api/employees?q={}", of_a["surname"].as_str().unwrap())).await;
    let in_list = listed["employees"].as_array().unwrap().iter().find(|e| e["id"] == a.as_str()).unwrap();
    for key in ["id", "company_id", "name", "status", "employee_number", "has_history", "current", "updated_at"] {
        assert_eq!(detail[key], in_list[key], "{key}");
    }
    let timeline = &detail["timeline"];
    assert_eq!(
        timeline["contracts"],
        json!([
            {"start_date": "2023-02-01", "end_date": "2024-01-31", "contract_duration": "fixed"},
            {"start_date": "2024-02-01", "end_date": "2025-01-31", "contract_duration": "fixed"},
            {"start_date": "2025-02-01", "end_date": "2026-01-31", "contract_duration": "fixed"}
        ])
    );
    assert_eq!(timeline["salary"], json!(periods(of_a, "salary", &["month_wage", "hour_wage"])));
    assert_eq!(timeline["hours"], json!(periods(of_a, "hours", &["hours_per_week"])));
    let salary = timeline["salary"].as_array().unwrap();
    assert!(salary.len() >= 2 && salary.last().unwrap()["month_wage"] == 4321.0, "{salary:?}");
    let current = &detail["current"];
    assert_eq!(
        (current["contract_duration"].as_str(), current["contract_end_date"].as_str()),
        (Some("fixed"), Some("2026-01-31"))
    );
    let before_raise =
        salary.iter().rev().find(|s| s["start_date"].as_str().unwrap() <= "2026-01-15").unwrap_or(&salary[0]);
    assert_eq!(current["month_wage"], before_raise["month_wage"], "the raise is not in effect yet: {current}");

    // Their changes, newest first, as GET /api/changes lists them; their milestones.
    let changes = app.get_json(&format!("/api/changes?employee_id={a}&limit=200")).await;
    assert!(!changes["changes"].as_array().unwrap().is_empty());
    assert_eq!(ids_of(&detail["changes"]), ids_of(&changes["changes"]));
    assert_eq!(detail["changes"][0], changes["changes"][0]);
    assert!(detail["changes_next_cursor"].is_null());
    let milestones = app.get_json(&format!("/api/milestones?employee_id={a}")).await;
    assert_eq!(ids_of(&detail["milestones"]), ids_of(&milestones["milestones"]));
    let kinds: Vec<&str> =
        detail["milestones"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"chain_limit") && kinds.contains(&"notice_due"), "{kinds:?}");
    assert!(detail["milestones"].as_array().unwrap().iter().all(|m| m["employee_id"] == a.as_str()));

    // One without stored history: an empty timeline, the record's embedded employment as current.
    let bare = truth.iter().find(|t| t["employments"].as_array().unwrap().is_empty()).expect("one without history");
    let bare_detail = app.get_json(&format!("/api/employees/{}", bare["id"].as_str().unwrap())).await;
    assert_eq!(bare_detail["has_history"], false);
    assert_eq!(bare_detail["timeline"], json!({"salary": [], "hours": [], "contracts": []}));
    assert_eq!(bare_detail["current"]["month_wage"], bare["employment"]["salary"]["month_wage"]);
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_or_erased_employee_is_not_found() {
    // Arrange: one employee leaves and is erased.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let leaver = app.sim.employee_id(1).await;
    app.sim.mutate(json!({"kind": "terminate", "employee_id": leaver})).await;
    app.sync_and_wait(Some(json!({"employee_ids": [leaver]}))).await;
    let before = app.get_json(&format!("/api/employees/{leaver}")).await;
    assert_eq!(before["status"], "out of service", "{before}");
    let erase = app.http.post(app.url(&format!("/api/employees/{leaver}/erase"))).bearer_auth(API_TOKEN);
    let (status, erased) = reply(erase.send().await.unwrap()).await;
    assert_eq!(status, 200, "{erased}");

    // Act
    let (gone, body) = reply(app.get(&format!("/api/employees/{leaver}")).await).await;
    let (unknown, _) = reply(app.get(&format!("/api/employees/{}", Uuid::new_v4())).await).await;
    let listed = walk(&app, "/api/employees", 500).await;

    // Assert
    assert_eq!((gone, body["error"].as_str()), (404, Some("not_found")), "{body}");
    assert_eq!(unknown, 404);
    assert_eq!(listed.len(), 109);
    assert!(listed.iter().all(|e| e["id"] != leaver.as_str()));
    app.stop().await;
}
