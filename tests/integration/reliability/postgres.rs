//! Postgres crashing mid-sync, and sessions whose worker is gone.

use super::*;

#[tokio::test]
async fn a_postgres_crash_mid_history_is_reported_by_readyz_and_no_session_is_left_running() {
    // Arrange: the app on a Postgres of its own, so the test can crash it.
    let Some(pg) = PgCluster::start() else {
        panic!("Postgres server binaries (initdb, pg_ctl) are required for this test");
    };
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 25, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    env.set("DATABASE_URL", &pg.url()).set("WORKER_FETCH_CONCURRENCY", "1");
    let app = env.spawn_app().await;
    let expected = expected_history_change_ids(&app).await;
    let (_, requested) = app.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    wait_for_stage(&app, &id, 1, 20).await;

    // Act: crash Postgres mid-history.
    pg.crash();
    let ready = eventually("readyz notices", Duration::from_secs(15), async || {
        let resp = app.http.get(app.url("/readyz")).send().await.unwrap();
        if resp.status() == 503 { Some(resp.json::<Value>().await.unwrap()) } else { None }
    })
    .await;
    // The outage lasts while the worker keeps trying to store history.
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.up();

    // Assert: readyz named Postgres; the session ended (never left running); a next sync completes.
    assert_eq!(ready["down"], json!(["postgres"]), "{ready}");
    assert!(ready["message"].as_str().unwrap().contains("postgres"));
    let s = poll_json(&app, &format!("/api/sync/sessions/{id}"), Duration::from_secs(60), is_final).await;
    if s["status"] == "failed" {
        assert!(s["failure_reason"].as_str().is_some_and(|r| !r.is_empty()), "{s}");
    } else {
        assert_eq!(s["status"], "completed", "{s}");
    }
    let next = app.sync_and_wait(None).await;
    assert_eq!(next["status"], "completed", "{next}");
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions WHERE status IN ('queued', 'running')").await, 0);
    assert_changes_exactly_once(&app, &expected).await;
    app.stop().await;
}

#[tokio::test]
async fn with_postgres_frozen_webhooks_are_still_queued_and_what_must_be_recorded_fails_within_the_timeout() {
    // Arrange: the HTTP role on a Postgres of its own, which the test then stalls.
    let Some(pg) = PgCluster::start() else {
        panic!("Postgres server binaries (initdb, pg_ctl) are required for this test");
    };
    let mut env = TestEnv::new().await;
    env.set("DATABASE_URL", &pg.url()).set("HTTP_REQUEST_TIMEOUT", "1s");
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let employee = "0b7d7c8e-1111-4222-8333-944455556666";

    // Act: freeze Postgres; send an employee event (queued, no database on that path) and an
    // unknown event type (accepted only once it is recorded as ignored).
    pg.freeze();
    let started = Instant::now();
    let queued = Webhook::event("employee.updated", employee).send(&app).await;
    let queued_in = started.elapsed();
    let started = Instant::now();
    let ignored = Webhook::event("payrun.finished", employee).send(&app).await;
    let ignored_in = started.elapsed();
    pg.thaw();

    // Assert: the first is accepted at once; the second fails with 503 (Employes retries it)
    // within the request timeout (one deadline for the whole request, its rejection record
    // included) instead of hanging on the database.
    assert_eq!(queued.0, 202, "{:?}", queued.1);
    assert!(queued_in < Duration::from_secs(1), "{queued_in:?}");
    assert_eq!(ignored.0, 503, "{:?}", ignored.1);
    assert!(ignored_in < Duration::from_millis(1500), "{ignored_in:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_session_whose_worker_died_and_whose_request_is_gone_is_failed_by_the_reaper_with_a_reason() {
    // Arrange: worker A dies mid-history and its request message is lost with it.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 5, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let mut a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", "history_progress")]);
    let (_, requested) = api.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    a.wait_for_line("failpoint reached", Duration::from_secs(30)).await;
    a.kill();
    let stream = api.bus.js.get_stream(api.bus.sync_stream()).await.unwrap();
    stream.purge().await.unwrap();
    assert_eq!(queued_requests(&api).await, 0);

    // Act: another worker with a short reap bound.
    env.set("WORKER_REAP_AFTER", "3s");
    let b = env.spawn_app_with_roles(vec![Role::Worker]).await;

    // Assert: the session does not stay running; it fails with a reason.
    let s = poll_json(&api, &format!("/api/sync/sessions/{id}"), Duration::from_secs(20), is_final).await;
    assert_eq!(s["status"], "failed", "{s}");
    let reason = s["failure_reason"].as_str().unwrap();
    assert!(reason.contains("stopped responding"), "{reason}");
    assert!(s["completed_at"].is_string());
    b.stop().await;
    api.stop().await;
}
