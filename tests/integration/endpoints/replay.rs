//! `POST /api/endpoints/{id}/replay`: the endpoint's events of a time range delivered again, each
//! once, with its original `webhook-id`; audited; queued durably (a replica killed mid-replay
//! loses nothing); and the attempts log kept only for `RETENTION`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method as M;
use serde_json::json;
use uuid::Uuid;

use super::*;

async fn raise(app: &TestApp, n: usize, wage: u32) {
    let employee = app.sim.employee_id(n).await;
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": wage, "start_date": "2026-12-01"}))
        .await;
}

/// The instant between two deliveries: after what the receiver has seen, before what comes next.
async fn mark() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let at = Utc::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    at
}

#[tokio::test]
async fn a_replay_re_delivers_exactly_the_events_of_its_range_once_each_with_the_original_webhook_id() {
    // Arrange: three rounds of changes, delivered; the instants between them marked.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![]).await;
    let created = create(&app, json!({"url": receiver.url(), "types": changes()})).await;
    let (id, secret) = (created["id"].as_str().unwrap().to_string(), created["secret"].as_str().unwrap().to_string());
    app.sync_and_wait(None).await;
    receiver.wait_for(3, Duration::from_secs(30)).await;
    let since = mark().await;
    raise(&app, 1, 4100).await;
    raise(&app, 2, 4200).await;
    app.sync_and_wait(None).await;
    let second_round: Vec<String> =
        receiver.wait_for(5, Duration::from_secs(30)).await[3..].iter().map(|s| s.id.clone()).collect();
    let until = mark().await;
    raise(&app, 3, 4300).await;
    app.sync_and_wait(None).await;
    receiver.wait_for(6, Duration::from_secs(30)).await;

    // Act
    let path = format!("/api/endpoints/{id}/replay");
    let body = json!({"since": since.to_rfc3339(), "until": until.to_rfc3339()});
    let (status, queued) = send(&app, API_TOKEN, M::POST, &path, Some(body)).await;

    // Assert: the second round's two events, again, each once, signed as before.
    assert_eq!((status, &queued), (202, &json!({"queued": 2})), "{queued}");
    let seen = receiver.wait_for(8, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.seen().len(), 8, "nothing more than the range");
    let mut again: Vec<String> = seen[6..].iter().map(|s| s.id.clone()).collect();
    let mut expected = second_round.clone();
    again.sort();
    expected.sort();
    assert_eq!(again, expected, "the range's events, with their webhook-ids");
    for s in &seen[6..] {
        let first = seen[..6].iter().find(|f| f.id == s.id).unwrap();
        assert_eq!(s.body, first.body, "the same CloudEvent");
        assert!(s.signed_by(&secret));
    }
    // Everything since the start, and an empty range.
    let (_, everything) = send(&app, API_TOKEN, M::POST, &path, Some(json!({"since": "2020-01-01T00:00:00Z"}))).await;
    assert_eq!(everything, json!({"queued": 6}));
    receiver.wait_for(14, Duration::from_secs(30)).await;
    let later = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let (_, none) = send(&app, API_TOKEN, M::POST, &path, Some(json!({"since": later}))).await;
    assert_eq!(none, json!({"queued": 0}));
    let (backwards, answer) =
        send(&app, API_TOKEN, M::POST, &path, Some(json!({"since": until.to_rfc3339(), "until": since.to_rfc3339()})))
            .await;
    assert_eq!(backwards, 400);
    assert!(answer["message"].as_str().unwrap().starts_with("until"), "{answer}");
    let (unauthenticated, _) = send(&app, "nobody", M::POST, &path, Some(json!({"since": later}))).await;
    assert_eq!(unauthenticated, 401);
    let audit = app.get_json("/api/audit?limit=500").await;
    let replays = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "endpoint_replayed").count();
    assert_eq!(replays, 3, "each accepted replay, not the refused one");
    app.stop().await;
}

#[tokio::test]
async fn a_replay_queued_before_its_replica_is_killed_mid_delivery_is_delivered_by_the_next_one_and_no_log_holds_the_secret()
 {
    // Arrange: replica A (HTTP and worker) delivers the first sync's three changes; then the
    // receiver holds the first replayed delivery open.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_CONCURRENCY", "1");
    env.start_simulator();
    let mut a = spawn_binary(&env, "http,worker", &[]);
    let api = env.attach(a.http_addr().await).await;
    let script = vec![Reply::Status(200), Reply::Status(200), Reply::Status(200), Reply::Hang(Duration::from_secs(60))];
    let receiver = TestReceiver::start(script).await;
    let created = create(&api, json!({"url": receiver.url(), "types": changes()})).await;
    let (id, secret) = (created["id"].as_str().unwrap().to_string(), created["secret"].as_str().unwrap().to_string());
    api.sync_and_wait(None).await;
    let first: Vec<String> = receiver.wait_for(3, Duration::from_secs(30)).await.iter().map(|s| s.id.clone()).collect();

    // Act: replay everything; kill A while it delivers the first copy; B takes over.
    let path = format!("/api/endpoints/{id}/replay");
    let (status, queued) = send(&api, API_TOKEN, M::POST, &path, Some(json!({"since": "2020-01-01T00:00:00Z"}))).await;
    assert_eq!((status, &queued), (202, &json!({"queued": 3})));
    receiver.wait_for(4, Duration::from_secs(30)).await;
    a.kill();
    let logs_a = a.output();
    let mut b = spawn_binary(&env, "http,worker", &[]);
    let api_b = env.attach(b.http_addr().await).await;

    // Assert: each event delivered (a 2xx logged) twice: first, and replayed; the held copy again
    // by B after the ack wait.
    let endpoint: Uuid = id.parse().unwrap();
    eventually("every replayed event is delivered again", Duration::from_secs(60), async || {
        let log = attempts(&api_b, endpoint).await;
        let twice =
            |id: &String| log.iter().filter(|a| a["status"] == "succeeded" && a["event_id"] == **id).count() == 2;
        let missing: Vec<&String> = first.iter().filter(|id| !twice(id)).collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("{missing:?} not delivered again")) }
    })
    .await;
    let held = &receiver.seen()[3].id;
    assert_eq!(receiver.seen().iter().filter(|s| &s.id == held).count(), 3, "first, held by A, again by B");
    for logs in [logs_a, b.output()] {
        assert!(!logs.contains(&secret) && !logs.contains(&secret["whsec_".len()..]), "a secret in the logs");
        assert!(!logs.contains(&receiver.url()), "an endpoint's URL in the logs");
    }
    b.kill();
}

#[tokio::test]
async fn endpoint_attempts_older_than_retention_are_deleted_and_the_endpoint_stays() {
    // Arrange: an attempt logged now, and a short RETENTION.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("RETENTION", "3s");
    let app = env.spawn_app().await;
    let (endpoint, _) = register(&app, "https://93.184.215.14/hook", None, Some(&["salary_change"])).await;
    let attempt = |n: i32| employes_sync::db::endpoints::NewAttempt {
        endpoint_id: endpoint,
        event_id: Uuid::new_v4(),
        event_type: "salary_change",
        attempt: n,
        status: employes_sync::domain::AttemptStatus::Succeeded,
        response_status: Some(200),
        error: None,
        next_attempt_at: None,
    };
    employes_sync::db::endpoints::record_attempt(&app.db, &attempt(1)).await.unwrap();
    assert_eq!(attempts(&app, endpoint).await.len(), 1);

    // Act: past the retention, the daily prune (every RETENTION when shorter) runs.
    eventually("the old attempt is pruned", Duration::from_secs(30), async || {
        let left = attempts(&app, endpoint).await.len();
        if left == 0 { Ok(()) } else { Err(left) }
    })
    .await;

    // Assert: the endpoint stays; a fresh attempt is kept.
    employes_sync::db::endpoints::record_attempt(&app.db, &attempt(2)).await.unwrap();
    assert!(employes_sync::db::endpoints::get(&app.db, endpoint).await.unwrap().is_some());
    assert_eq!(attempts(&app, endpoint).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn attempts_logged_in_one_batch_read_back_each_as_it_was_recorded() {
    // Arrange: an endpoint (nothing is delivered to it: no sync runs).
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let (endpoint, _) = register(&app, "https://93.184.215.14/hook", None, Some(&["salary_change"])).await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    let next = chrono::Utc::now() + chrono::Duration::seconds(300);
    let attempt =
        |event_id, attempt, status, response_status, error, next_attempt_at| employes_sync::db::endpoints::NewAttempt {
            endpoint_id: endpoint,
            event_id,
            event_type: "salary_change",
            attempt,
            status,
            response_status,
            error,
            next_attempt_at,
        };
    use employes_sync::domain::AttemptStatus::{Failed, Pending, Succeeded};
    let batch = [
        attempt(first, 1, Pending, Some(500), Some("HTTP 500"), Some(next)),
        attempt(second, 1, Failed, None, Some("no answer within the attempt timeout; no retry left"), None),
        attempt(first, 2, Succeeded, Some(200), None, None),
    ];

    // Act
    employes_sync::db::endpoints::record_attempts(&app.db, &batch).await.unwrap();

    // Assert: three rows, newest (the last of the batch) first, each with its own values.
    let log = attempts(&app, endpoint).await;
    let rows: Vec<(String, i64, &str, Value, Value)> = log
        .iter()
        .map(|a| {
            let id = a["event_id"].as_str().unwrap().to_string();
            (
                id,
                a["attempt"].as_i64().unwrap(),
                a["status"].as_str().unwrap(),
                a["response_status"].clone(),
                a["error"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (first.to_string(), 2, "succeeded", json!(200), Value::Null),
            (
                second.to_string(),
                1,
                "failed",
                Value::Null,
                json!("no answer within the attempt timeout; no retry left")
            ),
            (first.to_string(), 1, "pending", json!(500), json!("HTTP 500")),
        ]
    );
    assert!(log[2]["next_attempt_at"].is_string() && log[0]["next_attempt_at"].is_null(), "{log:?}");
    app.stop().await;
}
