//! Incremental full syncs: employments are fetched only for employees whose record changed
//! upstream, never fetched before, or not refreshed within `HISTORY_REFRESH_AFTER`.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

async fn employments_calls(app: &TestApp) -> u64 {
    app.sim.stats().await["by_endpoint"]["employments"].as_u64().unwrap()
}

async fn changes_of(app: &TestApp, employee: &str, kind: &str) -> usize {
    app.get_json(&format!("/api/changes?employee_id={employee}&type={kind}")).await["changes"].as_array().unwrap().len()
}

#[tokio::test]
async fn an_unchanged_full_resync_fetches_no_employments_and_keeps_every_count() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let first = app.sync_and_wait(None).await;
    assert_eq!(employments_calls(&app).await, 110);
    // Act
    let again = app.sync_and_wait(None).await;
    // Assert: only the list was read; counts describe the company, not just what was fetched.
    assert_eq!(employments_calls(&app).await, 110, "no employments call on an unchanged re-sync");
    assert_eq!(again["status"], "completed", "{again}");
    assert_eq!((again["employees_processed"].as_i64(), again["history_collected"].as_i64()), (Some(110), Some(99)));
    assert_eq!(again["changes_detected"], 0);
    assert_eq!(first["history_collected"], 99);
    assert_eq!(app.get_json("/api/stats").await["employees_with_history"], 99);
    app.stop().await;
}

#[tokio::test]
async fn an_employment_change_that_updates_the_record_is_fetched_and_recorded_by_the_next_full_sync() {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(12).await;
    // Act: a raise upstream (Employes-like: the record's dt_update moves), then a full sync.
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": 4321, "start_date": "2027-01-01"}))
        .await;
    let s = app.sync_and_wait(None).await;
    // Assert: that one employee's employments were fetched, and the raise recorded once.
    assert_eq!(employments_calls(&app).await, 111);
    assert_eq!(s["changes_detected"], 1, "{s}");
    assert_eq!(changes_of(&app, &employee, "salary_change").await, 1, "one raise");
    app.stop().await;
}

#[tokio::test]
async fn an_employment_change_that_leaves_the_record_untouched_is_caught_by_the_periodic_refresh() {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    env.set("HISTORY_REFRESH_AFTER", "3s");
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(20).await;
    // Act 1: an hours change that does not move the record's dt_update; a full sync right away.
    app.sim
        .mutate(json!({"kind": "hours", "employee_id": employee, "hours_per_week": 17, "start_date": "2027-02-01",
               "touch_record": false}))
        .await;
    let early = app.sync_and_wait(None).await;
    // Assert 1: nothing told us, so nothing was fetched (the documented trade-off)…
    assert_eq!(employments_calls(&app).await, 110);
    assert_eq!(early["changes_detected"], 0, "{early}");
    // Act 2: once the refresh interval has passed, the next full sync re-reads every history.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let refreshed = app.sync_and_wait(None).await;
    // Assert 2: …and the refresh records the change exactly once.
    assert_eq!(employments_calls(&app).await, 220);
    assert_eq!(refreshed["changes_detected"], 1, "{refreshed}");
    assert_eq!(changes_of(&app, &employee, "hours_change").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn with_refresh_after_zero_every_full_sync_reads_every_history() {
    let mut env = TestEnv::new().await;
    env.set("HISTORY_REFRESH_AFTER", "0s");
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    app.sync_and_wait(None).await;
    assert_eq!(employments_calls(&app).await, 220);
    app.stop().await;
}

#[tokio::test]
async fn a_targeted_sync_always_reads_the_employees_history() {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(30).await;
    app.sim
        .mutate(json!({"kind": "hours", "employee_id": employee, "hours_per_week": 19, "start_date": "2027-02-01",
               "touch_record": false}))
        .await;
    // Act: what an employment.updated webhook causes.
    let s = app.sync_and_wait(Some(json!({"employee_ids": [employee]}))).await;
    // Assert
    assert_eq!(employments_calls(&app).await, 111);
    assert_eq!(s["changes_detected"], 1, "{s}");
    assert_eq!(changes_of(&app, &employee, "hours_change").await, 1);
    app.stop().await;
}
