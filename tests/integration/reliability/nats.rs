//! NATS restarting or stalling during a sync and during webhook intake.

use super::*;

#[tokio::test]
async fn a_nats_restart_mid_sync_loses_nothing_and_webhooks_get_503_while_it_is_down() {
    // Arrange: a slow history stage; an hours change upstream that a webhook reports.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 25, ..SimConfig::default() }).await;
    env.sim_webhooks = false;
    quick_takeover(&mut env);
    env.set("WORKER_FETCH_CONCURRENCY", "1");
    let app = env.spawn_app().await;
    let employee = app.sim.employee_id(7).await;
    app.sim
        .mutate(json!({"kind": "hours", "employee_id": employee, "hours_per_week": 11, "start_date": "2026-12-01"}))
        .await;
    let expected = expected_history_change_ids(&app).await;
    assert_eq!(expected.len(), 4);
    let (_, requested) = app.request_sync(None).await;
    let full = requested["session_id"].as_str().unwrap().to_string();
    wait_for_stage(&app, &full, 1, 20).await;

    // Act: NATS goes away mid-history; Employes keeps sending webhooks meanwhile.
    env.nats.stop();
    let webhooks: Vec<Webhook> = (0..3).map(|_| Webhook::event("employment.updated", &employee)).collect();
    for w in &webhooks {
        let (status, body) = w.send(&app).await;
        assert_eq!(status, 503, "accepted without durable storage: {body}");
        assert_eq!(body["error"], "unavailable", "{body}");
    }
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("nats"));
    // The outage lasts while the worker carries on fetching history.
    tokio::time::sleep(Duration::from_secs(1)).await;
    env.nats.restart();
    // Employes retries each delivery (same webhook id) until it is accepted.
    let mut webhook_sessions = Vec::new();
    for w in &webhooks {
        w.deliver(&app, Duration::from_secs(30)).await;
        webhook_sessions.push(app.webhook_session(&w.id).await);
    }

    // Assert: the full sync and every accepted webhook's sync end (the three may share one
    // session: they were admitted together); each change exactly once.
    let s = app.wait_for_session(&full).await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["employees_processed"], 110);
    for id in &webhook_sessions {
        let ws = app.wait_for_session(id).await;
        assert_eq!(ws["status"], "completed", "{ws}");
        assert_eq!(ws["employee_ids"], json!([employee]));
    }
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'accepted'").await, 3);
    assert_changes_exactly_once(&app, &expected).await;
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_retried_after_nats_stalled_past_the_ack_timeout_still_syncs_its_employee() {
    // Arrange: a baseline, then an hours change upstream.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    assert_eq!(app.sync_and_wait(None).await["status"], "completed");
    let employee = app.sim.employee_id(9).await;
    app.sim
        .mutate(json!({"kind": "hours", "employee_id": employee, "hours_per_week": 13, "start_date": "2026-12-01"}))
        .await;
    let webhook = Webhook::event("employment.updated", &employee);

    // Act: NATS stalls longer than the publish acknowledgement wait, so the delivery gets 503;
    // the server stores it afterwards, and Employes retries the same delivery (which JetStream
    // then reports as a duplicate: 200).
    env.nats.freeze();
    let (status, body) = webhook.send(&app).await;
    env.nats.thaw();
    assert_eq!(status, 503, "{body}");
    webhook.deliver(&app, Duration::from_secs(20)).await;

    // Assert: the delivery's session runs and records the change once.
    let id = app.webhook_session(&webhook.id).await;
    let s = poll_json(&app, &format!("/api/sync/sessions/{id}"), Duration::from_secs(20), is_final).await;
    assert_eq!(s["status"], "completed", "{s}");
    let changes = app.get_json(&format!("/api/changes?employee_id={employee}&type=hours_change")).await;
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1, "{changes}");
    assert_changes_exactly_once(&app, &expected_history_change_ids(&app).await).await;
    app.stop().await;
}
