//! Work across companies: each company's own schedule makes one session per slot across
//! replicas, its slots spread by its own delay; and a company with a long queue cannot make the
//! others wait behind it.

use chrono::{DateTime, Utc};
use employes_sync::{
    cli::Role,
    companies::{ChangedBy, CompanyPatch},
    scheduler,
    simulator::SimConfig,
};
use serde_json::json;
use uuid::Uuid;

use super::{side_by_side::request_for, *};

/// A claimed slot: company, slot, its session, and when that session was requested.
type SlotRow = (Uuid, DateTime<Utc>, Option<Uuid>, Option<DateTime<Utc>>);

#[tokio::test]
async fn two_replicas_with_per_company_schedules_make_one_session_per_company_per_slot() {
    // Arrange: three companies; the first every second, the second every other second, the third
    // never (SYNC_SCHEDULE is off); two replicas.
    let sim =
        SimConfig { rate_limit: 1000, latency_ms: 0, seed: 5, employees: 10, with_history: 5, ..SimConfig::default() };
    let mut env = TestEnv::with_sim(sim.with_companies(3)).await;
    let companies = env.companies.clone();
    let a = env.spawn_app().await;
    let b = env.spawn_app().await;
    let registry = a.companies.clone().unwrap();
    let schedules = ["* * * * * *", "*/2 * * * * *", "off"];
    for (company, schedule) in companies.iter().zip(schedules) {
        let patch = CompanyPatch { schedule: Some(Some(schedule.to_string())), ..CompanyPatch::default() };
        registry.update(*company, &patch, &ChangedBy::service()).await.unwrap();
    }
    let seen = b.companies.clone().unwrap();
    eventually("replica B has the schedules", Duration::from_secs(5), async || {
        seen.get(companies[1]).unwrap().company.schedule.as_deref() == Some("*/2 * * * * *")
    })
    .await;

    // Act: let the schedules run for a while.
    tokio::time::sleep(Duration::from_millis(5500)).await;
    a.stop().await;
    b.stop().await;

    // Assert
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    let slots: Vec<SlotRow> = sqlx::query_as(
        "SELECT k.company_id, k.slot, k.session_id, s.requested_at FROM schedule_slots k
         LEFT JOIN sync_sessions s ON s.id = k.session_id ORDER BY k.slot",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let of = |c: Uuid| slots.iter().filter(move |s| s.0 == c).collect::<Vec<_>>();
    assert!(of(companies[0]).len() >= 4, "every second: {:?}", of(companies[0]));
    assert!(!of(companies[1]).is_empty() && of(companies[1]).iter().all(|s| s.1.timestamp() % 2 == 0), "{slots:?}");
    assert!(of(companies[2]).is_empty(), "off");
    assert!(slots.iter().all(|s| s.2.is_some()), "every slot requested a session: {slots:?}");
    let schedule = |i: usize| schedules[i].parse::<cron::Schedule>().unwrap();
    for (i, &company) in companies[..2].iter().enumerate() {
        // No slot made two sessions: each scheduler session belongs to a slot of its company.
        let sessions: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sync_sessions WHERE source = 'scheduler' AND company_id = $1")
                .bind(company)
                .fetch_one(&db)
                .await
                .unwrap();
        let distinct: std::collections::BTreeSet<Uuid> = of(company).iter().filter_map(|s| s.2).collect();
        assert_eq!(sessions as usize, distinct.len(), "{company}");
        // A new session is requested no earlier than the company's own delay after its slot.
        for (_, slot, _, requested) in of(company) {
            let requested = requested.unwrap();
            if requested >= *slot {
                let delay = scheduler::delay(company, &schedule(i), *slot);
                assert!(requested - *slot >= delay - chrono::TimeDelta::milliseconds(20), "{slot} {requested} {delay}");
            }
        }
    }
}

#[tokio::test]
async fn a_company_with_a_long_queue_does_not_make_another_company_wait_behind_it() {
    // Arrange: thirty targeted syncs of one company queued (no coalescing), then one full sync of
    // another; no worker yet; a worker runs eight sessions at once.
    let sim = SimConfig {
        rate_limit: 1000,
        latency_ms: 40,
        seed: 9,
        employees: 40,
        with_history: 20,
        ..SimConfig::default()
    };
    let mut env = TestEnv::with_sim(sim.with_companies(2)).await;
    env.set("WEBHOOK_COALESCE_WINDOW", "0s").set("WORKER_CONCURRENCY", "8");
    let (busy, other) = (env.companies[0], env.companies[1]);
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let truth = env.sim_control.truth_of(busy).await;
    let mut queued = Vec::new();
    for e in truth["employees"].as_array().unwrap().iter().take(30) {
        let (status, body) = api.request_sync(Some(json!({"company_id": busy, "employee_ids": [e["id"]]}))).await;
        assert_eq!((status, body["coalesced"].as_bool()), (202, Some(false)), "{body}");
        queued.push(body["session_id"].as_str().unwrap().to_string());
    }
    let behind = request_for(&api, other).await;

    // Act
    let worker = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let s = api.wait_for_session(&behind).await;

    // Assert: the other company's sync started while most of the long queue was still waiting.
    assert_eq!(s["status"], "completed", "{s}");
    let before: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync_sessions WHERE company_id = $1 AND completed_at < (SELECT started_at FROM sync_sessions WHERE id = $2::uuid)",
    )
    .bind(busy)
    .bind(&behind)
    .fetch_one(&api.db)
    .await
    .unwrap();
    assert!(before <= 8, "{before} of the busy company's 30 sessions ended before the other company's began");
    for id in &queued {
        assert_eq!(api.wait_for_session(id).await["status"], "completed");
    }
    worker.stop().await;
    api.stop().await;
}
