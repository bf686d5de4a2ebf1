//! Log levels follow what an operator must act on: a failed Employes request is a warning (once
//! per request, not per retry), a session that completed with errors a warning, a failed one an
//! error; none of them names an employee or the key.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

/// The JSON log lines of `output` at `level` whose message is `message`.
fn logged(output: &str, level: &str, message: &str) -> Vec<Value> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == level && v["message"] == message)
        .collect()
}

#[tokio::test]
async fn failed_fetches_warn_once_each_and_sessions_log_at_the_level_of_their_end() {
    // Arrange: the service as a child process (its logs captured), three tries per request.
    let mut env = TestEnv::new().await;
    env.set("EMPLOYES_MAX_ATTEMPTS", "3");
    env.sim_webhooks = false;
    env.start_simulator();
    let mut svc = spawn_binary(&env, "http,worker", &[]);
    let app = env.attach(svc.http_addr().await).await;
    let employees = [app.sim.employee_id(1).await, app.sim.employee_id(2).await];
    // Act: both employees' employments fail every try (2 × 3), then the key is rejected.
    app.sim.faults(json!({"fail_next": 6, "error_status": 503, "endpoints": ["employments"]})).await;
    let with_errors = app.sync_and_wait(Some(json!({"employee_ids": employees}))).await;
    app.sim.faults(json!({"reject_auth": true, "fail_next": 0})).await;
    let failed = app.sync_and_wait(None).await;
    // Assert
    assert_eq!(
        (with_errors["status"].as_str(), with_errors["errors_count"].as_i64()),
        (Some("completed_with_errors"), Some(2))
    );
    assert_eq!(failed["status"], "failed", "{failed}");
    let output = eventually("the failed session's error line", Duration::from_secs(10), async || {
        let output = svc.output();
        if logged(&output, "ERROR", "sync session failed").is_empty() { None } else { Some(output) }
    })
    .await;
    let fetch_warnings: Vec<Value> = logged(&output, "WARN", "Employes request failed")
        .into_iter()
        .filter(|v| v["endpoint"] == "GET /employees/{id}/employments")
        .collect();
    assert_eq!(fetch_warnings.len(), 2, "one warning per failed request, not per try: {fetch_warnings:?}");
    assert!(fetch_warnings.iter().all(|v| v["code"] == "upstream_status"), "{fetch_warnings:?}");
    let ended_with_errors = logged(&output, "WARN", "sync session completed with errors");
    assert_eq!(ended_with_errors.len(), 1, "{output}");
    assert_eq!(ended_with_errors[0]["errors"], 2);
    let ended_failed = logged(&output, "ERROR", "sync session failed");
    assert_eq!(ended_failed.len(), 1);
    assert!(ended_failed[0]["reason"].as_str().unwrap().contains("Employes rejected the API key"), "{ended_failed:?}");
    assert!(logged(&output, "INFO", "sync session ended").is_empty(), "neither ended well: {output}");
    let warnings_and_errors: Vec<&str> =
        output.lines().filter(|l| l.contains(r#""level":"WARN""#) || l.contains(r#""level":"ERROR""#)).collect();
    for line in warnings_and_errors {
        assert!(!employees.iter().any(|e| line.contains(e.as_str())), "an employee id is logged: {line}");
        assert!(!line.contains(testkit::EMPLOYES_API_KEY), "the key is logged: {line}");
    }
}
