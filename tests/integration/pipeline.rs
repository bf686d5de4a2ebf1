//! The sync pipeline end to end: NATS request → worker → stages → Postgres → change events.

use std::{collections::BTreeSet, time::Duration};

use employes_sync::{cli::Role, simulator::SimConfig};
use serde_json::{Value, json};

use crate::helpers::*;

fn changes_of(v: &Value) -> Vec<Value> {
    v["changes"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_first_full_sync_records_the_three_historical_changes_and_publishes_them_once() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    // Act
    let s = app.sync_and_wait(None).await;
    // Assert
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(
        (s["employees_processed"].as_i64(), s["history_collected"].as_i64(), s["changes_detected"].as_i64()),
        (Some(110), Some(99), Some(3))
    );
    assert_eq!(s["source"], "api");
    assert_eq!(s["triggered_by"], "ci");
    assert!(s["stages"].as_array().unwrap().iter().all(|st| st["status"] == "completed"));
    let changes = changes_of(&app.get_json("/api/changes").await);
    let mut by_type: Vec<(String, Value)> =
        changes.iter().map(|c| (c["change_type"].as_str().unwrap().to_string(), c.clone())).collect();
    by_type.sort_by(|a, b| a.0.cmp(&b.0));
    let types: Vec<&str> = by_type.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["contract_change", "hours_change", "salary_change"]);
    let salary = &by_type[2].1;
    assert_eq!((salary["old_value"].as_str(), salary["new_value"].as_str()), (Some("2577"), Some("2709")));
    assert_eq!(salary["change_amount"], 132.0);
    assert_eq!(salary["change_percent"], 5.12);
    assert_eq!(salary["business_impact"], "salary_increase");
    assert!(salary["employee_name"].as_str().is_some_and(|n| n.len() > 3));
    assert_eq!(by_type[1].1["business_impact"], "hours_increase");
    assert_eq!(by_type[0].1["business_impact"], "permanent_contract");
    // The first sync is the baseline: its changes say so, in the API and in their events' data.
    assert!(changes.iter().all(|c| c["baseline"] == true), "{changes:?}");
    // `until` ends the range of detection times (exclusive), as `since` starts it.
    let first = changes.iter().filter_map(|c| c["detected_at"].as_str()).min().unwrap().replace('+', "%2B");
    assert!(changes_of(&app.get_json(&format!("/api/changes?until={first}")).await).is_empty());
    let range = format!("/api/changes?since={first}&until=2999-01-01T00:00:00Z");
    assert_eq!(changes_of(&app.get_json(&range).await).len(), 3);
    let events = change_events(&app).await;
    assert!(events.iter().all(|e| e["data"]["baseline"] == true && e["baseline"] == true), "{events:?}");
    assert_eq!(events.len(), 3);
    let event_ids: BTreeSet<_> = events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let change_ids: BTreeSet<_> = json_ids(&app.get_json("/api/changes").await, "changes").into_iter().collect();
    assert_eq!(event_ids, change_ids);
    let e = &events[0];
    assert_eq!(e["specversion"], "1.0");
    assert!(e["type"].as_str().unwrap().starts_with("nl.employes."));
    assert_eq!(e["subject"], e["data"]["employee_id"]);
    app.stop().await;
}

#[tokio::test]
async fn an_immediate_second_full_sync_records_nothing_new() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let versions_before: i64 = count(&app, "SELECT count(*) FROM employee_versions").await;
    // Act
    let s = app.sync_and_wait(None).await;
    // Assert
    assert_eq!(s["status"], "completed");
    assert_eq!(s["changes_detected"], 0);
    assert_eq!(s["employees_processed"], 110);
    let versions_after: i64 = count(&app, "SELECT count(*) FROM employee_versions").await;
    let history_versions: i64 = count(&app, "SELECT count(*) FROM employment_versions").await;
    assert_eq!(versions_before, versions_after);
    assert_eq!(history_versions, 110);
    assert_eq!(change_events(&app).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn a_salary_raise_then_a_targeted_sync_records_exactly_one_salary_change() {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let truth = app.sim.truth().await;
    let employee = truth["employees"][5]["id"].as_str().unwrap().to_string();
    let old_wage = truth["employees"][5]["employments"][0]["salary"][0]["month_wage"].as_f64().unwrap();
    app.sim.mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": old_wage + 250.0, "start_date": "2026-12-01"}),
    )
    .await;
    // Act
    let s = app.sync_and_wait(Some(json!({"employee_ids": [employee]}))).await;
    // Assert
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["scope"], "employees");
    assert_eq!(s["changes_detected"], 1);
    let changes = changes_of(&app.get_json(&format!("/api/changes?employee_id={employee}")).await);
    assert_eq!(changes.len(), 1);
    let c = &changes[0];
    assert_eq!(c["change_type"], "salary_change");
    assert_eq!(c["business_impact"], "salary_increase");
    assert_eq!(c["change_amount"], 250.0);
    assert_eq!(c["effective_date"], "2026-12-01");
    let expected_pct = ((250.0 / old_wage) * 10000.0).round() / 100.0;
    assert_eq!(c["change_percent"].as_f64(), Some(expected_pct));
    assert_eq!(change_events(&app).await.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn a_company_of_117_employees_is_fully_processed() {
    let mut env =
        TestEnv::with_sim(SimConfig { employees: 117, rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }).await;
    let app = env.spawn_app().await;
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["employees_processed"], 117);
    app.stop().await;
}

#[tokio::test]
async fn failing_employment_fetches_complete_with_errors_and_a_clean_sync_completes_them() {
    let mut env = TestEnv::new().await;
    env.set("EMPLOYES_MAX_ATTEMPTS", "1");
    let app = env.spawn_app().await;
    app.sim.faults(json!({"error_rate": 0.2, "error_status": 503, "endpoints": ["employments"]})).await;
    // Act
    let s = app.sync_and_wait(None).await;
    // Assert
    assert_eq!(s["status"], "completed_with_errors", "{s}");
    let errors = s["errors"].as_array().unwrap();
    assert!(!errors.is_empty() && errors.len() < 60, "{} errors", errors.len());
    assert!(errors.iter().all(|e| e["stage"] == "history" && e["employee_id"].is_string()));
    assert_eq!(s["errors_count"].as_u64().unwrap() as usize, errors.len());
    // The failures kept no bogus history; a clean sync fills them in.
    app.sim.faults(json!({"error_rate": 0.0})).await;
    let clean = app.sync_and_wait(None).await;
    assert_eq!(clean["status"], "completed");
    assert_eq!(clean["history_collected"], 99);
    let stats = app.get_json("/api/stats").await;
    assert_eq!(stats["employees_with_history"], 99);
    assert_eq!(stats["changes_total"], 3);
    app.stop().await;
}

#[tokio::test]
async fn an_unavailable_employee_list_fails_the_session_with_its_reason() {
    let mut env = TestEnv::new().await;
    env.set("EMPLOYES_MAX_ATTEMPTS", "2");
    let app = env.spawn_app().await;
    app.sim.faults(json!({"error_rate": 1.0, "error_status": 503, "endpoints": ["list"]})).await;
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["status"], "failed");
    let reason = s["failure_reason"].as_str().unwrap();
    assert!(reason.contains("employee list"), "{reason}");
    assert!(s["completed_at"].is_string());
    let final_events = progress_events(&app, s["id"].as_str().unwrap()).await;
    assert_eq!(final_events.last().unwrap()["stage"], "session");
    assert_eq!(final_events.last().unwrap()["status"], "failed");
    app.stop().await;
}

#[tokio::test]
async fn an_invalid_api_key_fails_the_session_without_retrying_forever() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.sim.faults(json!({"reject_auth": true})).await;
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["status"], "failed");
    assert_eq!(s["failure_reason"], "Employes rejected the API key");
    assert_eq!(app.sim.stats().await["requests"], 1);
    app.stop().await;
}

#[tokio::test]
async fn two_full_requests_at_once_make_one_session() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let (a, b) = tokio::join!(app.request_sync(None), app.request_sync(None));
    assert_eq!((a.0, b.0), (202, 202));
    assert_eq!(a.1["session_id"], b.1["session_id"]);
    assert!(a.1["coalesced"].as_bool().unwrap() ^ b.1["coalesced"].as_bool().unwrap());
    let sessions = app.get_json("/api/sync/sessions").await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn progress_events_arrive_in_order_for_every_stage_and_end_with_the_session() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let s = app.sync_and_wait(None).await;
    let events = progress_events(&app, s["id"].as_str().unwrap()).await;
    let stage_order: Vec<&str> = events.iter().map(|e| e["stage"].as_str().unwrap()).collect();
    let mut seen: Vec<&str> = stage_order.clone();
    seen.dedup();
    assert_eq!(seen, ["snapshot", "history", "changes", "session"]);
    for stage in ["snapshot", "history", "changes"] {
        let mine: Vec<&Value> = events.iter().filter(|e| e["stage"] == stage).collect();
        assert_eq!(mine.first().unwrap()["status"], "running");
        assert_eq!(mine.last().unwrap()["status"], "completed");
        let processed: Vec<i64> = mine.iter().map(|e| e["processed"].as_i64().unwrap()).collect();
        assert!(processed.windows(2).all(|w| w[0] <= w[1]), "{stage}: {processed:?}");
        // At least every 10 items; the snapshot stores (and so completes) a listed page of up
        // to 100 records at once.
        let step = if stage == "snapshot" { 100 } else { 10 };
        assert!(processed.windows(2).all(|w| w[1] - w[0] <= step), "{stage}: {processed:?}");
    }
    assert_eq!(events.last().unwrap()["status"], "completed");
    app.stop().await;
}

#[tokio::test]
async fn a_worker_killed_mid_history_is_resumed_and_records_the_same_changes() {
    // Arrange: a slow simulator so the history stage takes a while.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 25, ..SimConfig::default() }).await;
    env.set("WORKER_FETCH_CONCURRENCY", "2");
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let worker = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let (_, requested) = api.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    // Act: abort the worker task once history is under way (no graceful release).
    poll_json(&api, &format!("/api/sync/sessions/{id}"), Duration::from_secs(30), |s| {
        s["stages"][1]["status"] == "running" && s["stages"][1]["processed"].as_i64().unwrap_or(0) >= 20
    })
    .await;
    worker.handle.as_ref().unwrap().abort();
    let replacement = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let s = api.wait_for_session(&id).await;
    // Assert
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(
        (s["employees_processed"].as_i64(), s["history_collected"].as_i64(), s["changes_detected"].as_i64()),
        (Some(110), Some(99), Some(3))
    );
    let events = change_events(&api).await;
    assert_eq!(events.len(), 3);
    assert_eq!(attempts(&api, &id).await, 2);
    replacement.stop().await;
    api.stop().await;
}

#[tokio::test]
async fn what_a_failed_session_stored_is_diffed_by_the_next_one() {
    // Arrange: a baseline; then a status change upstream and a sync that stores the new record
    // version but fails in the history stage (Employes rejects the key for employments).
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(40).await;
    app.sim.mutate(json!({"kind": "status", "employee_id": employee, "status": "pending"})).await;
    app.sim.faults(json!({"error_rate": 1.0, "error_status": 401, "endpoints": ["employments"]})).await;
    let failed = app.sync_and_wait(None).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["stages"][0]["status"], "completed", "{failed}");
    // Act: Employes recovers; the next full sync finds the record unchanged (already stored).
    app.sim.faults(json!({"error_rate": 0.0})).await;
    let next = app.sync_and_wait(None).await;
    // Assert: the status change is recorded once, by the next session; a third records nothing.
    assert_eq!(next["status"], "completed", "{next}");
    assert_eq!(next["changes_detected"], 1, "{next}");
    let changes = app.get_json(&format!("/api/changes?employee_id={employee}&type=status_change")).await;
    let changes = changes["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["session_id"], next["id"]);
    assert_eq!(app.sync_and_wait(None).await["changes_detected"], 0);
    app.stop().await;
}

#[tokio::test]
async fn a_stored_change_whose_type_or_impact_is_unknown_fails_to_load_instead_of_being_skipped() {
    // Arrange: a database with one session, whose changes table takes any change type (as a
    // later version's migration might widen it).
    let db = employes_sync::db::pool(&fresh_database().await).unwrap();
    employes_sync::db::migrate(&db, None).await.unwrap();
    let (company, session) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    employes_sync::db::companies::upsert_from_env(&db, company, None, None).await.unwrap();
    sqlx::query(
        "INSERT INTO sync_sessions (id, company_id, source, triggered_by, scope, request_id)
         VALUES ($1, $2, 'api', 'ci', 'full', 'r')",
    )
    .bind(session)
    .bind(company)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE changes DROP CONSTRAINT changes_change_type_check").execute(&db).await.unwrap();
    let insert = |change_type: &'static str, impact: &'static str| {
        sqlx::query(
            "INSERT INTO changes (id, dedup_key, employee_id, change_type, business_impact, session_id, company_id,
                                  sequence)
             VALUES (gen_random_uuid(), gen_random_uuid()::text, gen_random_uuid(), $1, $2, $3, $4, 1)",
        )
        .bind(change_type)
        .bind(impact)
        .bind(session)
        .bind(company)
        .execute(&db)
    };
    for (change_type, impact, rejected_by) in
        [("bogus", "hired", "ChangeType"), ("employee_added", "bogus", "BusinessImpact")]
    {
        sqlx::query("DELETE FROM changes").execute(&db).await.unwrap();
        insert(change_type, impact).await.unwrap();
        // Act: what the outbox and the API read.
        let unpublished = employes_sync::db::changes::unpublished(&db, None, 0.0, 10).await;
        let listed = employes_sync::db::changes::list(
            &db,
            &employes_sync::db::changes::ChangeFilter { limit: Some(10), ..Default::default() },
        )
        .await;
        // Assert: the row does not decode (it is neither skipped nor read as something else).
        for result in [unpublished, listed] {
            match result {
                Err(sqlx::Error::ColumnDecode { source, .. }) => {
                    assert!(source.to_string().contains(rejected_by), "{source}")
                }
                other => panic!("{change_type}/{impact}: expected a decode error, got {other:?}"),
            }
        }
    }
    // And a known row still loads, typed.
    sqlx::query("DELETE FROM changes").execute(&db).await.unwrap();
    insert("employee_added", "hired").await.unwrap();
    let rows = employes_sync::db::changes::unpublished(&db, None, 0.0, 10).await.unwrap();
    assert_eq!(rows[0].change_type, employes_sync::domain::ChangeType::EmployeeAdded);
    assert_eq!(rows[0].business_impact, Some(employes_sync::domain::BusinessImpact::Hired));
}
