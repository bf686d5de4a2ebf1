//! Milestone events on `<p>.milestones.<company_id>.<kind>`: `detected`, each reminder, `due`,
//! `overdue` and `resolved`, each exactly once — day after day, after a re-run of the same day,
//! and when a worker dies between publishing an event and marking it.

use std::{collections::BTreeMap, time::Duration};

use chrono::NaiveDate;
use employes_sync::sync::milestones::daily;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

/// `(kind, reason, days_before)` of each event, in stream order.
fn reasons(events: &[Value]) -> Vec<(String, String, Option<i64>)> {
    events
        .iter()
        .map(|e| {
            let d = &e["data"];
            (d["kind"].as_str().unwrap().into(), d["reason"].as_str().unwrap().into(), d["days_before"].as_i64())
        })
        .collect()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn each_moment_of_a_milestone_is_published_once_on_its_day_as_a_cloud_event() {
    // Arrange: a 12-month contract ending 2026-06-30 found on 2026-01-15.
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app().await;
    let company = env.companies[0];
    let config = env.config().milestones;
    let a = app.sim.employee_id(0).await;
    set_contracts(&app, &a, json!([fixed("2025-07-01", "2026-06-30")])).await;
    app.sync_and_wait(None).await;

    // Act: the days go by (the daily evaluation of each, one of them run twice by two replicas).
    for (replica, on) in
        [("r1", "2026-04-30"), ("r1", "2026-05-23"), ("r2", "2026-05-23"), ("r1", "2026-05-30"), ("r1", "2026-05-31")]
    {
        assert!(daily::run_day(&app.db, &app.bus, &config, company, day(on), replica).await.unwrap());
    }
    let of_a = milestones(&app, &format!("employee_id={a}")).await;
    let notice = of_kind(&of_a, "notice_due")["id"].as_str().unwrap().to_string();
    let resolved = app
        .http
        .post(app.url(&format!("/api/milestones/{notice}/resolve")))
        .bearer_auth(API_TOKEN)
        .json(&json!({"note": "late, but given"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resolved.status(), 200);

    // Assert
    let subject = a.as_str();
    let events: Vec<Value> = milestone_events(&app).await.into_iter().filter(|e| e["subject"] == subject).collect();
    let of = |kind: &str| -> Vec<(String, Option<i64>)> {
        reasons(&events).into_iter().filter(|(k, ..)| k == kind).map(|(_, r, d)| (r, d)).collect()
    };
    assert_eq!(
        of("notice_due"),
        [
            ("detected".into(), None),
            ("reminder".into(), Some(30)),
            ("reminder".into(), Some(7)),
            ("due".into(), None),
            ("overdue".into(), None),
            ("resolved".into(), None)
        ]
    );
    assert_eq!(of("contract_ending"), [("detected".into(), None), ("reminder".into(), Some(30))]);
    let first = &events[0];
    assert_eq!(first["specversion"], "1.0");
    assert_eq!(first["type"], format!("nl.employes.milestone.{}", first["data"]["kind"].as_str().unwrap()));
    assert_eq!(first["source"], format!("/employes-sync/companies/{company}"));
    assert_eq!(
        (first["companyid"].as_str(), first["partitionkey"].as_str()),
        (Some(&*company.to_string()), Some(subject))
    );
    assert_eq!(first["dataclassification"], "confidential");
    assert_eq!(first["baseline"], true, "found by the company's first sync");
    assert_eq!(events.last().unwrap()["baseline"], false, "a day's evaluation is not the baseline");
    let sequences: Vec<&str> = events.iter().map(|e| e["sequence"].as_str().unwrap()).collect();
    let expected: Vec<String> = (1..=events.len()).map(|n| format!("{n:020}")).collect();
    assert_eq!(sequences, expected, "the employee's milestone events numbered 1, 2, … in stream order");
    let last = &events.last().unwrap()["data"];
    assert_eq!(
        (last["status"].as_str(), last["resolution"].as_str(), last["note"].as_str()),
        (Some("resolved"), Some("acknowledged"), Some("late, but given"))
    );
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len(), "every event has its own id");
    let reminder = events.iter().find(|e| e["data"]["reason"] == "reminder").unwrap();
    assert_eq!(reminder["data"]["status"], "upcoming");
    let pending = count(&app, "SELECT count(*) FROM milestone_events WHERE published_at IS NULL").await;
    assert_eq!(pending, 0, "every recorded event is marked published");
    app.stop().await;
}

#[tokio::test]
async fn a_worker_killed_between_publishing_a_milestone_event_and_marking_it_publishes_nothing_twice() {
    // Arrange: two employees with contracts ending (four milestones, four `detected` events);
    // worker A stops right after publishing the first of them.
    let mut env = env_on("2026-01-15").await;
    env.set("WORKER_ACK_WAIT", "3s").set("WORKER_HEARTBEAT", "1s");
    let api = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let (a, b) = (api.sim.employee_id(0).await, api.sim.employee_id(1).await);
    set_contracts(&api, &a, json!([fixed("2025-07-01", "2026-06-30")])).await;
    set_contracts(&api, &b, json!([fixed("2025-03-01", "2026-02-28")])).await;
    let point = "milestone_event_published";
    let mut worker_a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", point)]);
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    worker_a.wait_for_line(&format!("failpoint reached: {point}"), Duration::from_secs(60)).await;

    // Act
    worker_a.kill();
    let _worker_b = spawn_binary(&env, "worker", &[]);
    let session = api.wait_for_session(&id).await;

    // Assert
    assert_eq!(session["status"], "completed", "{session}");
    let mine = [a.as_str(), b.as_str()];
    let events: Vec<Value> =
        milestone_events(&api).await.into_iter().filter(|e| mine.contains(&e["subject"].as_str().unwrap())).collect();
    let mut per: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in &events {
        let key = (
            e["subject"].as_str().unwrap().to_string(),
            e["data"]["kind"].as_str().unwrap().to_string(),
            e["data"]["reason"].as_str().unwrap().to_string(),
        );
        *per.entry(key).or_default() += 1;
    }
    let expected: BTreeMap<(String, String, String), usize> = [
        (a.as_str(), "contract_ending"),
        (a.as_str(), "notice_due"),
        (b.as_str(), "contract_ending"),
        (b.as_str(), "notice_due"),
    ]
    .into_iter()
    .map(|(who, kind)| ((who.to_string(), kind.to_string(), "detected".to_string()), 1))
    .collect();
    assert_eq!(per, expected);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM milestone_events WHERE employee_id = ANY($1) AND published_at IS NOT NULL",
    )
    .bind([a.parse::<Uuid>().unwrap(), b.parse::<Uuid>().unwrap()])
    .fetch_one(&api.db)
    .await
    .unwrap();
    assert_eq!(recorded, 4, "recorded once each, and marked");
    for who in mine {
        let numbers: Vec<&str> =
            events.iter().filter(|e| e["subject"] == who).map(|e| e["sequence"].as_str().unwrap()).collect();
        assert_eq!(numbers, ["00000000000000000001", "00000000000000000002"], "{who}: no number twice or skipped");
    }
    api.stop().await;
}

#[tokio::test]
async fn a_day_is_evaluated_by_one_replica_and_a_claim_left_by_a_dead_one_is_taken_over() {
    // Arrange
    use employes_sync::db::milestones::{DayClaim, claim_day, complete_day};
    let env = &mut env_on("2026-01-15").await;
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let company = env.companies[0];
    let on = day("2026-03-01");
    let stale = 30.0 * 60.0;

    // Act / Assert: the first claim wins, a second replica waits while it runs.
    assert_eq!(claim_day(&app.db, company, on, "r1", stale).await.unwrap(), DayClaim::Claimed);
    assert_eq!(claim_day(&app.db, company, on, "r2", stale).await.unwrap(), DayClaim::Busy);
    // r1 dies: once its claim is older than the stale bound, r2 takes the day over and runs it.
    sqlx::query("UPDATE milestone_days SET claimed_at = now() - interval '31 minutes' WHERE company_id = $1")
        .bind(company)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(claim_day(&app.db, company, on, "r2", stale).await.unwrap(), DayClaim::Claimed);
    complete_day(&app.db, company, on).await.unwrap();
    assert_eq!(claim_day(&app.db, company, on, "r3", stale).await.unwrap(), DayClaim::Done);
    assert_eq!(claim_day(&app.db, company, day("2026-03-02"), "r3", stale).await.unwrap(), DayClaim::Claimed);
    let by: String = sqlx::query_scalar("SELECT claimed_by FROM milestone_days WHERE company_id = $1 AND day = $2")
        .bind(company)
        .bind(on)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(by, "r2");
    app.stop().await;
}
