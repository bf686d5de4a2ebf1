//! `RETENTION`: with a short one, sessions, errors, webhook deliveries, audit entries and
//! superseded versions go; changes, employees and every current version stay.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn with_a_short_retention_old_rows_are_pruned_but_changes_and_current_versions_stay() {
    // Arrange: two syncs (the second supersedes one record version), a delivery; each sync request is audited.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    env.set("RETENTION", "4s");
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(2).await;
    app.sim
        .mutate(json!({"kind": "personal", "employee_id": employee, "field": "email", "value": "x@example.nl"}))
        .await;
    app.sync_and_wait(None).await;
    let (employees, changes) =
        (count(&app, "SELECT count(*) FROM employees").await, count(&app, "SELECT count(*) FROM changes").await);
    assert!(count(&app, "SELECT count(*) FROM employee_versions WHERE valid_to IS NOT NULL").await >= 1);
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, outcome, received_at) VALUES ('wh_old', 'rejected', now())",
    )
    .execute(&app.db)
    .await
    .unwrap();

    // Act: wait past the retention; the prune runs every RETENTION when that is shorter than a day.
    let pruned = eventually("old rows are pruned", Duration::from_secs(30), async || {
        let left = count(
            &app,
            "SELECT (SELECT count(*) FROM audit_entries) + (SELECT count(*) FROM webhook_deliveries)
                                + (SELECT count(*) FROM employee_versions WHERE valid_to IS NOT NULL)
                                + (SELECT count(*) FROM sync_sessions)",
        )
        .await;
        if left <= 1 { Ok(left) } else { Err(left) }
    })
    .await;

    // Assert: only the latest completed full sync is kept of the sessions (so the next one is no
    // baseline); every employee, current version and change is still there.
    assert_eq!(pruned, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM sync_stages").await, 3);
    assert_eq!(count(&app, "SELECT count(*) FROM employees").await, employees);
    assert_eq!(count(&app, "SELECT count(*) FROM changes").await, changes);
    assert_eq!(count(&app, "SELECT count(*) FROM employees e JOIN employee_versions v ON v.employee_id = e.id AND v.version = e.snapshot_version").await, employees);
    // The next sync still compares with what is kept: no employee is "added" again.
    app.sync_and_wait(None).await;
    assert_eq!(count(&app, "SELECT count(*) FROM changes").await, changes);
    app.stop().await;
}
