//! schemathesis against the running service: every check (server errors, status codes, content
//! types, headers and schemas of responses, schema-valid requests accepted and invalid ones refused,
//! authentication enforced, methods, every response field documented), every phase (examples,
//! coverage, fuzzing, stateful sequences over the document's links), warnings as failures, once
//! per caller. Settings: `tests/contracts/schemathesis.toml`; hooks: `schemathesis_hooks.py`.

use serde_json::json;

use crate::helpers::*;

/// Who schemathesis calls as, one run each: (role, token); each is an `API_TOKENS` entry
/// `<role>:<token>:<role>` below, so every 403 a role gets must be documented.
const CALLERS: &[(&str, &str)] =
    &[("viewer", "viewer-token-0123456789abcdef"), ("operator", API_TOKEN), ("admin", "admin-token-0123456789abcdef")];

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say_for_any_caller() {
    // Arrange: the service with the simulator as Employes; webhooks signed by the hooks; a fixed
    // "today" and one 12-month contract per caller, so each run has a notice_due milestone of its
    // own to acknowledge (POST /api/milestones/{id}/resolve reached beyond its 404); the simulator's
    // company is never deleted by a run (the hooks keep the fixture).
    let mut env = TestEnv::new().await;
    let tokens: Vec<String> = CALLERS.iter().map(|(role, token)| format!("{role}:{token}:{role}")).collect();
    env.set("API_TOKENS", &tokens.join(","));
    // Companies may be added with keys and secrets (stored sealed under SECRETS_KEY).
    env.set("SECRETS_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    env.set("MILESTONE_TODAY", "2026-01-15");
    let app = env.spawn_app().await;
    for n in 0..CALLERS.len() {
        let employee = app.sim.employee_id(n).await;
        let contract = json!([{"contract_duration": "fixed", "start_date": "2025-07-01", "end_date": "2026-06-30"}]);
        app.sim.mutate(json!({"kind": "contracts", "employee_id": employee, "contracts": contract})).await;
    }
    // One employee leaves: the admin's erasure (`POST /api/employees/{id}/erase`) has someone to erase.
    let leaver = app.sim.employee_id(CALLERS.len()).await;
    app.sim.mutate(json!({"kind": "terminate", "employee_id": leaver})).await;
    app.sync_and_wait(None).await;
    let listed = app.get_json("/api/milestones?kind=notice_due&limit=500").await;
    let notices: Vec<String> = listed["milestones"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    assert!(notices.len() >= CALLERS.len(), "a notice_due milestone per caller: {listed}");
    // A stored employee who stays, for GET /api/employees/{id}.
    let employee = app.sim.employee_id(0).await;

    // Act: one run per caller.
    let mut failures = Vec::new();
    for ((role, token), milestone) in CALLERS.iter().zip(notices) {
        let (url, leaver, employee) = (app.url(""), leaver.clone(), employee.clone());
        let run = tokio::task::spawn_blocking(move || {
            testkit::contracts::tool(
                &["schemathesis", url.as_str(), token],
                &[
                    ("CONTRACT_WEBHOOK_SECRET", WEBHOOK_SECRET),
                    ("CONTRACT_COMPANY_ID", "7e3f2a10-5b6c-4d8e-9f01-23456789abcd"),
                    ("CONTRACT_MILESTONE_ID", &milestone),
                    ("CONTRACT_ERASABLE_EMPLOYEE_ID", &leaver),
                    ("CONTRACT_EMPLOYEE_ID", &employee),
                ],
            )
        })
        .await
        .unwrap();
        match run {
            testkit::contracts::ToolRun::Failed(output) => failures.push(format!("as {role}:\n{output}")),
            other => {
                if let Some(output) = other.passed(&format!("schemathesis as {role}")) {
                    // It ran every phase (the displayed, non-failing warning is a role's 403s).
                    assert!(output.contains("Test Phases:") && !output.contains("❌"), "{output}");
                }
            }
        }
    }
    // Assert
    assert!(failures.is_empty(), "schemathesis failed {}", failures.join("\n\n"));
    app.stop().await;
}
