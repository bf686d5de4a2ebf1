//! Milestones through the simulator: contract histories with exact dates (the `contracts`
//! mutation), a fixed "today" (`MILESTONE_TODAY`), and what the API, the CSV export and the
//! events on `<p>.milestones.>` say about them.

mod api;
mod events;

use serde_json::{Value, json};

use crate::helpers::*;

/// An environment whose "today" is `today` and whose simulator sends no webhooks (each test
/// syncs when it means to).
pub async fn env_on(today: &str) -> TestEnv {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    env.set("MILESTONE_TODAY", today);
    env
}

/// Replace the contracts of an employee's latest employment.
pub async fn set_contracts(app: &TestApp, employee: &str, contracts: Value) {
    let applied = app.sim.mutate(json!({"kind": "contracts", "employee_id": employee, "contracts": contracts})).await;
    assert_eq!(applied["employee_id"], employee, "{applied}");
}

pub fn fixed(start: &str, end: &str) -> Value {
    json!({"contract_duration": "fixed", "start_date": start, "end_date": end})
}

pub fn permanent(start: &str) -> Value {
    json!({"contract_duration": "permanent", "start_date": start})
}

/// `GET /api/milestones?…`'s milestones.
pub async fn milestones(app: &TestApp, query: &str) -> Vec<Value> {
    let page = app.get_json(&format!("/api/milestones?{query}")).await;
    page["milestones"].as_array().unwrap_or_else(|| panic!("{page}")).clone()
}

/// `(kind, due_date, status)` of each.
pub fn summary(list: &[Value]) -> Vec<(String, String, String)> {
    let text = |m: &Value, k: &str| m[k].as_str().unwrap_or_else(|| panic!("{k} in {m}")).to_string();
    list.iter().map(|m| (text(m, "kind"), text(m, "due_date"), text(m, "status"))).collect()
}

/// The one milestone of `kind` in `list`.
pub fn of_kind<'a>(list: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = list.iter().filter(|m| m["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} in {list:?}");
    found[0]
}

/// Every milestone CloudEvent on the milestones stream.
pub async fn milestone_events(app: &TestApp) -> Vec<Value> {
    let filter = format!("{}.milestones.>", app.bus.prefix());
    testkit::nats::replay(&app.bus.js, &app.bus.milestones_stream(), &filter).await
}
