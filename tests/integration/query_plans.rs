//! The per-session lookups that ran on every session find their rows through an index, not a
//! sequential scan of every company's employees (issue 16: three full scans of `employees` per
//! session). The planner prefers a sequential scan of a small table whatever the indexes, so
//! each plan is taken with sequential scans discouraged: it uses the index only if one fits.
//! The API's catch-all list queries are planned for their arguments every time, never with
//! Postgres's generic plan (a scan and sort of the whole table; `db::api_pool`).

use futures::StreamExt as _;

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

#[tokio::test]
async fn the_apis_list_queries_are_planned_for_their_arguments_however_often_they_ran() {
    // Arrange: the API's pool on a synced company's database (one connection, so every run
    // below is one prepared statement of one session).
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let api = employes_sync::db::api_pool(env.config().database_url(), 1).unwrap();
    let today = chrono::Utc::now().date_naive();
    let (changes, milestones) = (
        employes_sync::db::changes::ChangeFilter { limit: Some(51), ..Default::default() },
        employes_sync::db::milestones::views::MilestoneFilter { limit: Some(51), ..Default::default() },
    );

    // Act: far more runs than the five after which Postgres may switch a prepared statement to
    // its generic plan (a scan and sort of the whole table for these catch-all filters).
    for _ in 0..12 {
        employes_sync::db::changes::list(&api, &changes).await.unwrap();
        let rows: Vec<_> = employes_sync::db::milestones::views::list(&api, &milestones, today).collect().await;
        assert!(rows.iter().all(Result::is_ok));
    }

    // Assert
    let plans: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
         WHERE (statement LIKE '%FROM changes c LEFT JOIN%' OR statement LIKE '%FROM milestones m LEFT JOIN%')
           AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_all(&api)
    .await
    .unwrap();
    assert_eq!(plans.len(), 2, "{plans:?}");
    for (statement, generic, custom) in plans {
        assert_eq!((generic, custom), (0, 12), "{statement}");
    }
}
