//! A misbehaving Employes API: 429s, 503 bursts, timeouts, malformed JSON, a disappearing
//! employee, a revoked key.

use super::*;

/// Employees that have employment history in the simulator's ground truth.
async fn employees_with_history(app: &TestApp) -> i64 {
    let truth = app.sim.truth().await;
    truth["employees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["employments"].as_array().is_some_and(|a| !a.is_empty()))
        .count() as i64
}

fn seconds_between(s: &Value, from: &str, to: &str) -> f64 {
    let at = |k: &str| chrono::DateTime::parse_from_rfc3339(s[k].as_str().unwrap()).unwrap().timestamp_millis();
    (at(to) - at(from)) as f64 / 1000.0
}

#[tokio::test]
async fn sustained_429s_are_honoured_and_the_sync_still_completes_with_every_change() {
    // Arrange: the client may send 20 requests/s; Employes allows 3/s (Retry-After: 1).
    let mut env = TestEnv::with_sim(SimConfig {
        employees: 24,
        with_history: 20,
        rate_limit: 3,
        latency_ms: 0,
        ..SimConfig::default()
    })
    .await;
    env.set("EMPLOYES_RATE_LIMIT", "20").set("WORKER_FETCH_CONCURRENCY", "4");
    let app = env.spawn_app().await;
    let expected = expected_history_change_ids(&app).await;
    let with_history = employees_with_history(&app).await;
    // Act
    let s = app.sync_and_wait(None).await;
    // Assert
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["errors_count"], 0);
    assert_eq!(s["employees_processed"], 24);
    assert_eq!(s["history_collected"], with_history);
    assert_changes_exactly_once(&app, &expected).await;
    let stats = app.sim.stats().await;
    let limited = stats["rate_limited"].as_f64().unwrap();
    assert!(limited > 0.0, "Employes never rate limited: {stats}");
    // Honouring Retry-After (1 s) lets each of the 4 fetchers meet at most about one 429 a
    // second; a client ignoring it would hit the limit ~17 times a second.
    let secs = seconds_between(&s, "started_at", "completed_at");
    assert!(limited <= 6.0 * secs + 10.0, "{limited} 429s in {secs:.1}s: Retry-After was not honoured ({stats})");
    app.stop().await;
}

/// A full sync while `faults` hit the employments endpoint (the history stage).
async fn a_sync_under_faults(faults: Value, extra: &[(&str, &str)]) -> (TestEnv, TestApp, Value) {
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 5, ..SimConfig::default() }).await;
    for (k, v) in extra {
        env.set(k, v);
    }
    let app = env.spawn_app().await;
    let mut faults = faults;
    faults["endpoints"] = json!(["employments"]);
    app.sim.faults(faults).await;
    let s = app.sync_and_wait(None).await;
    (env, app, s)
}

async fn assert_complete_first_sync_despite_faults(app: &TestApp, s: &Value) {
    assert_first_sync_counts(s);
    assert_eq!(s["errors_count"], 0, "{s}");
    let expected = expected_history_change_ids(app).await;
    assert_changes_exactly_once(app, &expected).await;
    let stats = app.sim.stats().await;
    assert!(stats["errors_injected"].as_u64().unwrap() > 0, "no fault was injected: {stats}");
}

#[tokio::test]
async fn a_burst_of_503s_is_retried_and_the_sync_completes_without_errors() {
    let (_env, app, s) =
        a_sync_under_faults(json!({"fail_next": 4, "error_rate": 0.05, "error_status": 503}), &[]).await;
    assert_complete_first_sync_despite_faults(&app, &s).await;
    app.stop().await;
}

#[tokio::test]
async fn employes_timeouts_are_retried_and_the_sync_completes_without_errors() {
    let (_env, app, s) = a_sync_under_faults(json!({"timeout_rate": 0.1}), &[("EMPLOYES_REQUEST_TIMEOUT", "1s")]).await;
    assert_complete_first_sync_despite_faults(&app, &s).await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_from_employes_is_retried_and_the_sync_completes_without_errors() {
    let (_env, app, s) = a_sync_under_faults(json!({"malformed_rate": 0.1}), &[]).await;
    assert_complete_first_sync_despite_faults(&app, &s).await;
    app.stop().await;
}

#[tokio::test]
async fn an_employee_deleted_upstream_mid_sync_neither_fails_the_sync_nor_yields_spurious_changes() {
    // Arrange: a baseline, then a slow second sync.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }).await;
    env.sim_webhooks = false;
    // Every full sync re-reads every history here, so the second one has a history stage to interrupt.
    env.set("WORKER_FETCH_CONCURRENCY", "1").set("HISTORY_REFRESH_AFTER", "0s");
    let app = env.spawn_app().await;
    let baseline = app.sync_and_wait(None).await;
    assert_first_sync_counts(&baseline);
    let before = recorded_ids(&app).await;
    // The employee whose history is fetched last (history goes in id order), with no change.
    let changed: BTreeSet<String> = app.get_json("/api/changes").await["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["employee_id"].as_str().unwrap().to_string())
        .collect();
    let truth = app.sim.truth().await;
    let gone = truth["employees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["employments"].as_array().is_some_and(|a| !a.is_empty()))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .filter(|id| !changed.contains(id))
        .max()
        .unwrap();
    app.sim.faults(json!({"latency_ms": 20})).await;
    let (_, requested) = app.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    wait_for_stage(&app, &id, 1, 10).await;

    // Act: the employee disappears upstream while its history is still to be fetched.
    app.sim.mutate(json!({"kind": "delete", "employee_id": gone})).await;
    let s = app.wait_for_session(&id).await;

    // Assert: the sync completes and records nothing new; the next one records the removal once.
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["changes_detected"], 0, "{s}");
    assert_eq!(recorded_ids(&app).await, before);
    app.sim.faults(json!({"latency_ms": 0})).await;
    let next = app.sync_and_wait(None).await;
    assert_eq!(next["status"], "completed", "{next}");
    assert_eq!(next["changes_detected"], 1, "{next}");
    let removed = app.get_json(&format!("/api/changes?employee_id={gone}")).await;
    let removed = removed["changes"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["change_type"], "employee_removed");
    assert_eq!(app.sync_and_wait(None).await["changes_detected"], 0);
    assert_eq!(published_ids(&app).await.len(), 4);
    assert_eq!(app.get_json("/api/stats").await["employees"], 109);
    app.stop().await;
}

#[tokio::test]
async fn an_api_key_revoked_mid_sync_fails_the_session_with_its_reason_and_is_not_retried() {
    // Arrange
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 20, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    env.set("WORKER_FETCH_CONCURRENCY", "2");
    let app = env.spawn_app().await;
    let (_, requested) = app.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    wait_for_stage(&app, &id, 1, 10).await;
    // Act
    app.sim.faults(json!({"reject_auth": true})).await;
    let s = app.wait_for_session(&id).await;
    // Assert: failed with the reason, and no more calls to Employes afterwards.
    assert_eq!(s["status"], "failed", "{s}");
    assert_eq!(s["failure_reason"], "Employes rejected the API key");
    let history = &s["stages"][1];
    assert_eq!(history["status"], "failed", "{s}");
    let requests = app.sim.stats().await["requests"].as_u64().unwrap();
    assert!(requests < 110, "{requests} requests: the history stage ran on");
    // Longer than an ack wait plus a redelivery: nothing retries the session.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(app.sim.stats().await["requests"].as_u64().unwrap(), requests);
    assert_eq!(attempts(&app, &id).await, 1);
    app.stop().await;
}
