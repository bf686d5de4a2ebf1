//! Quiet watches — completed, nothing recorded, no error — are hidden from the session list when
//! asked (`quiet=false`, the dashboard's default), and deleted once a day old; every other
//! session stays.

use std::{collections::BTreeSet, time::Duration};

use serde_json::json;

use super::*;

fn ids(list: &Value) -> BTreeSet<String> {
    list["sessions"].as_array().unwrap().iter().map(|s| text(&s["id"])).collect()
}

fn is_quiet(s: &Value) -> bool {
    s["source"] == "watch" && s["status"] == "completed" && s["changes_detected"] == 0 && s["errors_count"] == 0
}

#[tokio::test]
async fn quiet_watches_are_hidden_on_request_and_deleted_after_a_day_while_every_other_session_stays() {
    // Arrange: a baseline, a raise a watch finds, then quiet watches.
    let mut env = watched("1s").await;
    let app = env.spawn_app().await;
    let baseline = text(&app.sync_and_wait(None).await["id"]);
    let raised = app.sim.employee_id(3).await;
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": raised, "month_wage": 4700, "start_date": "2027-04-01"}))
        .await;
    let finder = eventually("a watch records the raise", Duration::from_secs(30), async || {
        let changes = recorded(&app, &raised).await;
        let change = changes.first()?.0.clone();
        sqlx::query_scalar::<_, String>("SELECT session_id::text FROM changes WHERE id = $1::uuid")
            .bind(change)
            .fetch_optional(&app.db)
            .await
            .unwrap()
    })
    .await;
    eventually("three quiet watches after it", Duration::from_secs(20), async || {
        count(&app, "SELECT count(*) FROM sync_sessions s WHERE sync_session_is_quiet(s)").await >= 3
    })
    .await;

    // Act 1: the list with quiet watches hidden, only them, and everything.
    let hidden = app.get_json("/api/sync/sessions?limit=100&quiet=false").await;
    let only = app.get_json("/api/sync/sessions?limit=100&quiet=true").await;
    let watches = app.get_json("/api/sync/sessions?limit=100&source=watch").await;

    // Assert 1
    let shown = hidden["sessions"].as_array().unwrap();
    assert!(shown.iter().all(|s| !is_quiet(s)), "{hidden}");
    assert!(ids(&hidden).contains(&baseline) && ids(&hidden).contains(&finder), "{hidden}");
    let quiet = only["sessions"].as_array().unwrap();
    assert!(quiet.len() >= 3 && quiet.iter().all(is_quiet), "{only}");
    assert!(ids(&only).is_disjoint(&ids(&hidden)));
    assert!(watches["sessions"].as_array().unwrap().iter().all(|s| s["source"] == "watch"), "{watches}");
    assert!(ids(&watches).contains(&finder));
    let (status, body) = reply(app.get("/api/sync/sessions?quiet=maybe").await).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");

    // Act 2: a day and an hour later (every session moved back), a replica starts.
    app.stop().await;
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    let quiet_before: BTreeSet<String> =
        sqlx::query_scalar("SELECT id::text FROM sync_sessions s WHERE sync_session_is_quiet(s)")
            .fetch_all(&db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    sqlx::query(
        "UPDATE sync_sessions SET requested_at = requested_at - interval '25 hours',
             started_at = started_at - interval '25 hours', completed_at = completed_at - interval '25 hours'",
    )
    .execute(&db)
    .await
    .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_sessions").fetch_one(&db).await.unwrap();
    let app = env.spawn_app().await;

    // Assert 2: the old quiet watches (and their stages) are gone; the baseline and the watch that
    // recorded the raise stay.
    let left = eventually("the old quiet watches are deleted", Duration::from_secs(10), async || {
        let left: Vec<String> = sqlx::query_scalar("SELECT id::text FROM sync_sessions WHERE id::text = ANY($1)")
            .bind(quiet_before.iter().cloned().collect::<Vec<_>>())
            .fetch_all(&app.db)
            .await
            .unwrap();
        left.is_empty().then_some(left)
    })
    .await;
    assert!(left.is_empty());
    let kept: BTreeSet<String> =
        sqlx::query_scalar("SELECT id::text FROM sync_sessions WHERE requested_at < now() - interval '1 day'")
            .fetch_all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert!(kept.contains(&baseline) && kept.contains(&finder), "{kept:?}");
    assert_eq!(kept.len() as i64, total - quiet_before.len() as i64, "only the quiet watches were deleted");
    let orphans = count(
        &app,
        "SELECT count(*) FROM sync_stages t WHERE NOT EXISTS (SELECT 1 FROM sync_sessions s WHERE s.id = t.session_id)",
    )
    .await;
    assert_eq!(orphans, 0);
    assert_eq!(recorded(&app, &raised).await.len(), 1, "the raise is still recorded");
    app.stop().await;
}
