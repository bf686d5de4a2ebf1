//! Budget visibility: the requests made to Employes in the last 24 h per company, and their share
//! of the key's daily budget, equal what the simulator counted — on `/metrics`, in
//! `GET /api/companies[/{id}]` and from `db::budget::for_company`.

use std::time::Duration;

use employes_sync::{db::budget, simulator::SimConfig};
use uuid::Uuid;

use super::*;

/// The value of a gauge of one company on `/metrics`.
async fn gauge(app: &TestApp, name: &str, company: Uuid) -> Option<f64> {
    let body = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let prefix = format!("{name}{{company=\"{company}\"}} ");
    body.lines().find_map(|l| l.strip_prefix(&prefix)).map(|v| v.trim().parse().unwrap())
}

async fn sim_requests(env: &TestEnv, company: Uuid) -> u64 {
    env.sim_control.stats_of(company).await["requests"].as_u64().unwrap()
}

#[tokio::test]
async fn each_company_s_requests_of_the_last_day_and_their_share_of_its_budget_match_the_simulator() {
    // Arrange: two companies of different sizes at 1,000 requests a second each.
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 3, ..SimConfig::default() }.with_companies(2);
    (sim.companies[1].employees, sim.companies[1].with_history) = (30, 20);
    let mut env = TestEnv::with_sim(sim).await;
    env.sim_webhooks = false;
    env.set("WATCH_INTERVAL", "off");
    let (a, b) = (env.companies[0], env.companies[1]);
    let app = env.spawn_app().await;

    // Act 1: a full sync of each, twice for the first.
    for (company, times) in [(a, 2), (b, 1)] {
        for _ in 0..times {
            app.sync_and_wait(Some(serde_json::json!({ "company_id": company }))).await;
        }
    }

    // Assert 1: /metrics shows what the simulator counted, and its share of 1,000 × 86,400.
    for company in [a, b] {
        let expected = sim_requests(&env, company).await as f64;
        assert!(expected > 0.0);
        eventually(&format!("the requests of {company} on /metrics"), Duration::from_secs(15), async || {
            gauge(&app, "employes_sync_employes_requests_24h", company).await == Some(expected)
        })
        .await;
        let share = gauge(&app, "employes_sync_budget_used_ratio", company).await.unwrap();
        assert!((share - expected / 86_400_000.0).abs() < 1e-12, "{share}");
        // The company API shows the same figures, for one company and in the list.
        let one = app.get_json(&format!("/api/companies/{company}")).await;
        assert_eq!(one["requests_24h"].as_f64(), Some(expected), "{one}");
        assert!((one["budget_used"].as_f64().unwrap() - expected / 86_400_000.0).abs() < 1e-12, "{one}");
        let list = app.get_json("/api/companies").await;
        let listed = list["companies"].as_array().unwrap().iter().find(|c| c["id"] == company.to_string()).unwrap();
        assert_eq!((&listed["requests_24h"], &listed["budget_used"]), (&one["requests_24h"], &one["budget_used"]));
    }
    app.stop().await;

    // Act 2: watched every second for a few watches, then stopped (the last counts are stored
    // at shutdown).
    env.set("WATCH_INTERVAL", "1s");
    let app = env.spawn_app().await;
    eventually("watches of both companies", Duration::from_secs(20), async || {
        count(
            &app,
            "SELECT count(DISTINCT company_id) FROM sync_sessions WHERE source = 'watch' AND status = 'completed'",
        )
        .await
            == 2
    })
    .await;
    app.stop().await;

    // Assert 2: every request, the watches' too, is counted once, per company.
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    for company in [a, b] {
        let used = budget::for_company(&db, company, 1000).await.unwrap();
        assert_eq!(used.requests_24h as u64, sim_requests(&env, company).await, "{company}");
        assert_eq!(used.budget_used, used.requests_24h as f64 / 86_400_000.0);
    }
}
