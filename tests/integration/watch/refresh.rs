//! The rolling history refresh: each watch re-reads the ceil(N × time since the previous refresh ÷
//! `HISTORY_REFRESH_AFTER`) histories read longest ago, so every history is re-read within the
//! window with a flat load; and an idle watch costs exactly the list pages plus that share —
//! counted by the simulator itself.

use std::time::Duration;

use super::*;

/// The simulator's calls of one endpoint so far.
async fn calls(app: &TestApp, endpoint: &str) -> u64 {
    app.sim.stats().await["by_endpoint"][endpoint].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn every_history_is_re_read_within_the_window_a_share_per_watch_without_a_burst() {
    // Arrange: 110 employees (2 list pages), a watch every 2 s, every history due within 20 s:
    // a share of ceil(110 × 2 ÷ 20) = 11 a watch.
    let mut env = watched("2s").await;
    env.set("HISTORY_REFRESH_AFTER", "20s");
    let app = env.spawn_app().await;
    let baseline = app.sync_and_wait(None).await;
    let (employments, pages) = (calls(&app, "employments").await, calls(&app, "list").await);
    assert_eq!(employments, 110, "the baseline reads every history");

    // Act: a window and a half of idle watches.
    eventually("fifteen watches", Duration::from_secs(60), async || {
        count(&app, "SELECT count(*) FROM sync_sessions WHERE source = 'watch' AND status = 'completed'").await >= 15
    })
    .await;
    app.stop().await;

    // Assert: what each watch read, by its history stage and by the simulator's own counters.
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    let stages: Vec<(String, i32, f64)> = sqlx::query_as(
        "SELECT s.source, t.total, extract(epoch FROM t.started_at)::float8
         FROM sync_stages t JOIN sync_sessions s ON s.id = t.session_id
         WHERE t.stage = 'history' AND s.status = 'completed' ORDER BY t.started_at",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let watches: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sync_sessions WHERE source = 'watch'").fetch_one(&db).await.unwrap();
    assert_ne!(stages[0].0, "watch", "the baseline is the first history stage");
    let per_watch: Vec<i32> = stages[1..].iter().map(|(_, n, _)| *n).collect();
    assert_eq!(watches as usize, per_watch.len(), "every watch completed");
    // A watch reads ceil(110 × the time since the previous refresh ÷ 20 s): 11 when on time, more
    // after a slot a loaded machine skipped or joined into the previous watch — in step with the
    // clock, never a burst. (±2: the share is computed a moment before the stage's start.)
    let expected: Vec<i32> =
        stages.windows(2).map(|w| (110.0 * (w[1].2 - w[0].2) / 20.0).ceil().min(110.0) as i32).collect();
    for (n, want) in per_watch.iter().zip(&expected) {
        assert!((want - 2..=want + 2).contains(n), "a watch reads the elapsed share: {per_watch:?} vs {expected:?}");
    }
    let sim_employments = calls_after(&env, "employments").await - employments;
    let sim_pages = calls_after(&env, "list").await - pages;
    assert_eq!(sim_employments, per_watch.iter().map(|n| *n as u64).sum::<u64>(), "the simulator agrees");
    assert_eq!(sim_pages, 2 * watches as u64, "an idle watch costs the two list pages plus the share");
    // Every history read at the baseline was read again within the window.
    let ended = chrono::DateTime::parse_from_rfc3339(baseline["completed_at"].as_str().unwrap()).unwrap().to_utc();
    let stale: i64 =
        sqlx::query_scalar("SELECT count(*) FROM employees WHERE removed_at IS NULL AND history_fetched_at <= $1")
            .bind(ended)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(stale, 0, "every history re-read since the baseline");
    let oldest: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(s.completed_at) - min(e.history_fetched_at))::float8
         FROM employees e, sync_sessions s WHERE e.removed_at IS NULL AND s.source = 'watch'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    // A watch re-reads every history older than the window, so at any watch the oldest history is
    // at most the window plus the gap since the previous watch: one interval (2 s) when watches run
    // on time, more when a loaded machine delays one (that gap is measured, not assumed).
    let gaps: Vec<Option<f64>> = sqlx::query_scalar(
        "SELECT extract(epoch FROM completed_at - lag(completed_at) OVER (ORDER BY completed_at))::float8
         FROM sync_sessions WHERE source = 'watch' AND completed_at IS NOT NULL",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let gap = gaps.into_iter().flatten().fold(2.0_f64, f64::max);
    assert!(
        oldest <= 20.0 + gap + 0.5,
        "the oldest history at the last watch is {oldest} s old (window 20 s + {gap} s)"
    );
}

/// The simulator's calls of one endpoint, once the app is stopped.
async fn calls_after(env: &TestEnv, endpoint: &str) -> u64 {
    env.sim_control.stats().await["by_endpoint"][endpoint].as_u64().unwrap_or(0)
}
