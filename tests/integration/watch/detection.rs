//! What a watch finds: changes made upstream with no webhook, each recorded and published once;
//! when it runs (after the first full sync, one interval after start); and a watch due during a
//! full sync joins it.

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn with_webhooks_off_a_raise_a_hire_and_a_termination_are_each_recorded_and_published_once_by_a_watch() {
    // Arrange: a company watched every second, its first full sync done.
    let mut env = watched("1s").await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let (raised, leaving) = (app.sim.employee_id(12).await, app.sim.employee_id(30).await);

    // Act: three changes upstream; nobody tells the service.
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": raised, "month_wage": 5123, "start_date": "2027-03-01"}))
        .await;
    let hired = text(&app.sim.mutate(json!({"kind": "hire", "first_name": "Watched"})).await["employee_id"]);
    app.sim.mutate(json!({"kind": "terminate", "employee_id": leaving})).await;

    // Assert: a watch records each of them…
    for (employee, kind) in [(&raised, "salary_change"), (&hired, "employee_added"), (&leaving, "status_change")] {
        let changes = eventually(&format!("a watch records the {kind}"), Duration::from_secs(30), async || {
            let changes = recorded(&app, employee).await;
            changes.iter().any(|c| c.1 == kind).then_some(changes)
        })
        .await;
        assert!(changes.iter().all(|c| c.2 == "watch"), "recorded by a watch: {changes:?}");
    }
    // …and later watches find nothing more: each change is recorded and published exactly once.
    let mut recorded_ids = Vec::new();
    for employee in [&raised, &hired, &leaving] {
        recorded_ids.extend(recorded(&app, employee).await.into_iter().map(|c| c.0));
    }
    let before = sessions_of(&app, "watch").await.len();
    eventually("three more watches", Duration::from_secs(20), async || {
        sessions_of(&app, "watch").await.len() >= before + 3
    })
    .await;
    let mut again = Vec::new();
    for employee in [&raised, &hired, &leaving] {
        again.extend(recorded(&app, employee).await.into_iter().map(|c| c.0));
    }
    assert_eq!(again, recorded_ids, "later watches record nothing more");
    let events = eventually("every change published", Duration::from_secs(10), async || {
        let events = published(&app).await;
        recorded_ids.iter().all(|id| events.contains_key(id)).then_some(events)
    })
    .await;
    for id in &recorded_ids {
        assert_eq!(events[id], 1, "change {id} published once");
    }
    let watches = sessions_of(&app, "watch").await;
    assert!(watches.iter().all(|w| w.1 == "completed"), "{watches:?}");
    let session = app.get_json(&format!("/api/sync/sessions/{}", watches[0].0)).await;
    assert_eq!((session["source"].as_str(), session["triggered_by"].as_str()), (Some("watch"), Some("system")));
    app.stop().await;
}

/// When the first watch was asked for, once there is one (`what` names the wait).
async fn first_watch(app: &TestApp, what: &str, within: Duration) -> chrono::DateTime<chrono::Utc> {
    eventually(what, within, async || !sessions_of(app, "watch").await.is_empty()).await;
    sqlx::query_scalar("SELECT min(requested_at) FROM sync_sessions WHERE source = 'watch'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn no_watch_runs_before_the_first_full_sync_nor_within_one_interval_of_the_start() {
    // Arrange: watched every second, never synced.
    let mut env = watched("1s").await;
    let app = env.spawn_app().await;

    // Act: three intervals without a full sync.
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Assert: no watch without a baseline; the first one comes after the first full sync.
    assert!(sessions_of(&app, "watch").await.is_empty());
    let baseline = app.sync_and_wait(None).await;
    let first = first_watch(&app, "a watch after the first full sync", Duration::from_secs(10)).await;
    let ended = chrono::DateTime::parse_from_rfc3339(baseline["completed_at"].as_str().unwrap()).unwrap();
    assert!(first >= ended, "the first watch ({first}) after the baseline ended ({ended})");
    app.stop().await;

    // And a replica started with a baseline in place waits one interval before its first watch.
    let mut env = watched("3s").await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let started = chrono::Utc::now();
    app.stop().await;
    let app = env.spawn_app().await;
    let restarted = chrono::Utc::now();
    let first = first_watch(&app, "a watch after the restart", Duration::from_secs(15)).await;
    assert!(first - restarted >= chrono::TimeDelta::seconds(3), "{started} {restarted} {first}");
    app.stop().await;
}

#[tokio::test]
async fn a_watch_due_while_a_full_sync_runs_joins_it_instead_of_adding_a_session() {
    // Arrange: a baseline; then a slow full sync (every history re-read at 250 ms a request),
    // watched every second.
    let mut env = watched("1s").await;
    env.set("HISTORY_REFRESH_AFTER", "0s");
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    app.sim.faults(json!({"latency_ms": 250})).await;
    let (status, requested) = app.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    // A watch may have opened it a moment before the request joined it: either way, one full sync.
    let running = text(&requested["session_id"]);

    // Act: watches fall due while it runs.
    let joined = eventually("a watch slot claimed during the running sync", Duration::from_secs(20), async || {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT w.session_id::text, (SELECT count(*) FROM watch_slots) FROM watch_slots w
             JOIN sync_sessions s ON s.id = w.session_id WHERE s.id = $1::uuid AND s.status = 'running'",
        )
        .bind(&running)
        .fetch_optional(&app.db)
        .await
        .unwrap()
    })
    .await;
    let s = app.wait_for_session(&running).await;
    app.sim.faults(json!({"latency_ms": 0})).await;

    // Assert: the watch joined the running full sync; no other session was opened while it ran.
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(joined.0, running);
    let others: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync_sessions o, sync_sessions s WHERE s.id = $1::uuid AND o.id <> s.id
         AND o.requested_at BETWEEN s.requested_at AND s.completed_at",
    )
    .bind(&running)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(others, 0, "no session besides the running full sync");
    app.stop().await;
}
