//! The Employes budget belongs to an API key: companies sharing a key share one limiter (at the
//! lowest of their rate limits) and never get a 429; companies with keys of their own never
//! wait for each other.

use std::time::Instant;

use employes_sync::{
    companies::{ChangedBy, CompanyPatch, SecretsKey},
    simulator::SimConfig,
};
use secrecy::ExposeSecret;

use super::{side_by_side::request_for, *};

/// Requests per second each key may send, on both sides.
const RATE: u32 = 10;

/// Three companies of 20 employees on a simulator that allows `RATE` requests per second per key.
async fn three_small_companies() -> TestEnv {
    let mut sim = SimConfig {
        rate_limit: RATE,
        latency_ms: 0,
        seed: 11,
        employees: 20,
        with_history: 10,
        ..SimConfig::default()
    }
    .with_companies(3);
    sim.companies.iter_mut().for_each(|c| c.employees = 20);
    let mut env = TestEnv::with_sim(sim).await;
    env.set("EMPLOYES_RATE_LIMIT", &RATE.to_string());
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    env
}

/// Sync every company at once; the seconds until all ended, and the requests the simulator saw.
async fn sync_all(app: &TestApp, companies: &[uuid::Uuid]) -> (f64, u64, u64) {
    let started = Instant::now();
    let mut ids = Vec::new();
    for &c in companies {
        ids.push(request_for(app, c).await);
    }
    for id in &ids {
        let s = app.wait_for_session(id).await;
        assert_eq!(s["status"], "completed", "{s}");
    }
    let stats = app.sim.stats().await;
    (started.elapsed().as_secs_f64(), stats["requests"].as_u64().unwrap(), stats["rate_limited"].as_u64().unwrap())
}

#[tokio::test]
async fn companies_sharing_a_key_share_one_limiter_and_get_no_429() {
    // Arrange: three companies of EMPLOYES_COMPANY_ID share EMPLOYES_API_KEY.
    let mut env = three_small_companies().await;
    let app = env.spawn_app().await;
    let companies = env.companies.clone();

    // Act
    let (secs, requests, rate_limited) = sync_all(&app, &companies).await;

    // Assert: no 429, and all requests together paced at the key's rate (three limiters would
    // have sent three times as fast, into the simulator's 429s).
    assert_eq!(rate_limited, 0);
    let floor = requests as f64 / f64::from(RATE);
    assert!(secs >= floor * 0.85, "{requests} requests in {secs:.2} s: faster than one key's {RATE}/s");
    // A lower limit on one of them lowers the shared limiter for all three.
    let registry = app.companies.clone().unwrap();
    registry
        .update(
            companies[2],
            &CompanyPatch { rate_limit: Some(Some(5)), ..CompanyPatch::default() },
            &ChangedBy::service(),
        )
        .await
        .unwrap();
    assert!(companies.iter().all(|c| registry.get(*c).unwrap().rate_limit == 5));
    app.stop().await;
}

#[tokio::test]
async fn companies_with_keys_of_their_own_do_not_wait_for_each_other() {
    // Arrange: each company gets a key of its own (stored, sealed).
    let mut env = three_small_companies().await;
    let app = env.spawn_app().await;
    let companies = env.companies.clone();
    let registry = app.companies.clone().unwrap();
    for (i, c) in companies.iter().enumerate() {
        registry.set_api_key(*c, Some(format!("own-key-of-company-{i}").into())).await.unwrap();
    }

    // Act
    let (secs, requests, rate_limited) = sync_all(&app, &companies).await;

    // Assert: no 429, and clearly faster than one shared key allows (each key has its own budget).
    assert_eq!(rate_limited, 0);
    let shared_floor = requests as f64 / f64::from(RATE);
    assert!(
        secs < shared_floor * 0.75,
        "{requests} requests took {secs:.2} s; one shared key needs {shared_floor:.2} s"
    );
    app.stop().await;
}
