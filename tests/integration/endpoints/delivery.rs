//! What a receiver gets: exactly its events, signed, retried on the schedule with the same
//! `webhook-id`, `Retry-After` honoured, 410 and sustained failure disabling the endpoint,
//! rotation signing twice (replay: `replay.rs`).

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn an_endpoint_filtered_to_one_company_and_salary_changes_receives_exactly_those_verified_independently() {
    // Arrange: two companies; an endpoint for the first one's salary changes.
    let sim = employes_sync::simulator::SimConfig { rate_limit: 1000, latency_ms: 0, ..Default::default() };
    let mut env = TestEnv::with_sim(sim.with_companies(2)).await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);
    let receiver = TestReceiver::start(vec![]).await;
    let (endpoint, secret) = register(&app, &receiver.url(), Some(first), Some(&["salary_change"])).await;
    // Act: both companies' first syncs (each records a salary, an hours and a contract change).
    for company in [first, second] {
        app.sync_and_wait(Some(json!({"company_id": company}))).await;
    }
    let expected = change_ids(&app, first, Some("salary_change")).await;
    assert!(!expected.is_empty());
    let seen = receiver.wait_for(expected.len(), Duration::from_secs(30)).await;
    // Assert: exactly those events, each a CloudEvent signed with the endpoint's secret.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen_now = receiver.seen();
    let mut ids: Vec<String> = seen_now.iter().map(|s| s.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids, expected, "only the first company's salary changes");
    for s in &seen {
        assert!(s.signed_by(&secret), "signature of {}", s.id);
        assert!(!s.signed_by("whsec_c29tZW9uZSBlbHNlJ3Mga2V5IDEyMzQ="), "a check that can fail");
        let event = s.event();
        assert_eq!(event["id"], json!(s.id), "webhook-id is the event id");
        assert_eq!(event["type"], "nl.employes.salary_change");
        assert_eq!(event["companyid"], json!(first));
        assert_eq!(s.content_type, "application/cloudevents+json");
    }
    let log = attempts(&app, endpoint).await;
    assert!(
        log.iter().all(|a| a["status"] == "succeeded" && a["attempt"] == 1 && a["event_type"] == "salary_change"),
        "{log:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_receiver_answering_500_twice_then_200_gets_the_event_three_times_with_the_same_webhook_id() {
    // Arrange
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![Reply::Status(500), Reply::Status(500)]).await;
    let (endpoint, _) = register(&app, &receiver.url(), None, Some(&["salary_change"])).await;
    // Act: the first sync records one salary change.
    app.sync_and_wait(None).await;
    let seen = receiver.wait_for(3, Duration::from_secs(30)).await;
    // Assert
    assert!(seen.iter().all(|s| s.id == seen[0].id), "{:?}", seen.iter().map(|s| &s.id).collect::<Vec<_>>());
    let log = eventually("three attempts are logged", Duration::from_secs(10), async || {
        let log = attempts(&app, endpoint).await;
        if log.len() >= 3 { Ok(log) } else { Err(format!("{log:?}")) }
    })
    .await;
    let summary: Vec<(i64, &str, i64)> = log
        .iter()
        .rev()
        .map(|a| {
            (a["attempt"].as_i64().unwrap(), a["status"].as_str().unwrap(), a["response_status"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(summary, [(1, "pending", 500), (2, "pending", 500), (3, "succeeded", 200)]);
    assert!(log[1]["next_attempt_at"].is_string() && log[0]["next_attempt_at"].is_null(), "{log:?}");
    assert_eq!(log[0]["event_id"], json!(seen[0].id));
    app.stop().await;
}

#[tokio::test]
async fn retry_after_from_the_receiver_replaces_the_scheduled_delay() {
    // Arrange: the schedule says 200 ms; the receiver asks for 2 s.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![Reply::RetryAfter(503, 2)]).await;
    register(&app, &receiver.url(), None, Some(&["salary_change"])).await;
    // Act
    app.sync_and_wait(None).await;
    let seen = receiver.wait_for(2, Duration::from_secs(30)).await;
    // Assert
    let gap = seen[1].at - seen[0].at;
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
    assert!(gap < Duration::from_secs(10), "retried after {gap:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_410_disables_the_endpoint_at_once_and_opens_the_companys_endpoint_disabled_issue() {
    // Arrange: one delivery at a time, so the 410 is the first answer and nothing else is in flight.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_CONCURRENCY", "1");
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![Reply::Status(410)]).await;
    let company = env.companies[0];
    let (endpoint, _) = register(&app, &receiver.url(), Some(company), Some(&changes())).await;
    // Act: the first sync's three changes.
    app.sync_and_wait(None).await;
    let disabled = wait_endpoint(&app, endpoint, |e| e["enabled"] == false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Assert: disabled after one answer, with a reason, an issue, and no further deliveries.
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("410"), "{disabled}");
    assert_eq!(receiver.seen().len(), 1, "nothing is sent to a disabled endpoint");
    let issues = app.get_json(&format!("/api/issues?company_id={company}")).await;
    let kinds: Vec<&str> = issues["issues"].as_array().unwrap().iter().filter_map(|i| i["kind"].as_str()).collect();
    assert!(kinds.contains(&"endpoint_disabled"), "{issues}");
    let log = attempts(&app, endpoint).await;
    assert_eq!(
        (log.len(), &log[0]["status"], &log[0]["response_status"]),
        (1, &json!("failed"), &json!(410)),
        "{log:?}"
    );
    // Enabled again: what waited is delivered, the event that got the 410 included.
    let patch = employes_sync::db::endpoints::EndpointPatch { enabled: Some(true), ..Default::default() };
    let enabled = employes_sync::db::endpoints::update(&app.db, endpoint, &patch).await.unwrap().unwrap();
    employes_sync::endpoints::announce::announce(&app.bus, Some(endpoint)).await;
    assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None));
    let delivered = eventually("every change is delivered", Duration::from_secs(30), async || {
        let ids = delivered(&app, endpoint).await;
        if ids.len() == 3 { Ok(ids) } else { Err(format!("{ids:?}")) }
    })
    .await;
    assert!(delivered.contains(&receiver.seen()[0].id));
    app.stop().await;
}

#[tokio::test]
async fn an_endpoint_whose_every_delivery_fails_for_endpoint_disable_after_is_disabled() {
    // Arrange: a receiver that always fails, and a short ENDPOINT_DISABLE_AFTER.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_DISABLE_AFTER", "2s")
        .set("ENDPOINT_RETRY_SCHEDULE", "500ms,500ms,500ms,500ms,500ms,500ms,500ms,500ms");
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![Reply::Status(503); 100_000]).await;
    let (endpoint, _) = register(&app, &receiver.url(), None, None).await;
    // Act
    app.sync_and_wait(None).await;
    let disabled = wait_endpoint(&app, endpoint, |e| e["enabled"] == false).await;
    // Assert
    assert!(disabled["disabled_reason"].as_str().unwrap().contains("every delivery failed for 2s"), "{disabled}");
    let issues = app.get_json("/api/issues").await;
    assert!(issues["issues"].as_array().unwrap().iter().any(|i| i["kind"] == "endpoint_disabled"), "{issues}");
    app.stop().await;
}

#[tokio::test]
async fn after_a_rotation_deliveries_carry_a_signature_by_each_secret() {
    // Arrange
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![]).await;
    let (endpoint, old) = register(&app, &receiver.url(), None, None).await;
    // Act
    let new = rotate(&app, endpoint).await;
    // The rotation is announced; the dispatchers reload the endpoint's keys at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.sync_and_wait(None).await;
    let seen = receiver.wait_for(3, Duration::from_secs(30)).await;
    // Assert
    assert_ne!(old, new);
    for s in &seen {
        assert_eq!(s.signature.split(' ').count(), 2, "{}", s.signature);
        assert!(s.signed_by(&old) && s.signed_by(&new), "both secrets sign {}", s.id);
    }
    let shown = wait_endpoint(&app, endpoint, |_| true).await;
    assert!(shown.get("secret").is_none(), "an endpoint never shows its secret: {shown}");
    app.stop().await;
}
