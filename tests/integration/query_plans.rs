//! The per-session lookups that ran on every session find their rows through an index, not a
//! sequential scan of every company's employees (issue 16: three full scans of `employees` per
//! session). The planner prefers a sequential scan of a small table whatever the indexes, so
//! each plan is taken with sequential scans discouraged: it uses the index only if one fits.

use crate::helpers::*;

/// The plan of `sql` (one uuid-array parameter) with sequential scans discouraged.
async fn plan_of(app: &TestApp, sql: &str, session: uuid::Uuid) -> String {
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
    let rows: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {sql}")).bind(vec![session]).fetch_all(&mut *tx).await.unwrap();
    rows.join("\n")
}

#[tokio::test]
async fn a_sessions_removed_employees_are_found_through_an_index() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let session: uuid::Uuid = app.sync_and_wait(None).await["id"].as_str().unwrap().parse().unwrap();
    // The shapes of db::milestones::session_employees, db::employees::session_diffs and
    // count_session_diffs, and sync_session_is_quiet.
    for sql in [
        "SELECT id FROM employees WHERE removed_session = ($1::uuid[])[1]",
        "SELECT id FROM employees WHERE removed_session = ANY($1)",
    ] {
        let plan = plan_of(&app, sql, session).await;
        assert!(plan.contains("employees_removed_session"), "{sql}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{sql}:\n{plan}");
    }
}

#[tokio::test]
async fn a_sessions_undiffed_failed_predecessors_are_found_without_reading_its_companys_sessions() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let session: uuid::Uuid = app.sync_and_wait(None).await["id"].as_str().unwrap().parse().unwrap();
    // The shape of db::sessions::undiffed_failed (run by every session's changes stage).
    let sql = "SELECT id FROM sync_sessions
               WHERE status = 'failed' AND diffed_by IS NULL
                 AND company_id = (SELECT company_id FROM sync_sessions WHERE id = ($1::uuid[])[1])
                 AND requested_at < (SELECT requested_at FROM sync_sessions WHERE id = ($1::uuid[])[1])
               ORDER BY requested_at LIMIT 1000";
    let plan = plan_of(&app, sql, session).await;
    assert!(plan.contains("sync_sessions_undiffed_failed"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
}
