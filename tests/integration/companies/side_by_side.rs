//! Several companies in one deployment: synced side by side, each with its own counts, changes
//! and CloudEvent subjects; one company's rejected key or failing API fails only that company
//! and raises its issue, which its next clean sync resolves.

use std::collections::BTreeMap;

use employes_sync::{companies::SecretsKey, simulator::SimConfig};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

/// Sizes of the three companies: (employees, with history).
const SIZES: [(usize, usize); 3] = [(110, 99), (40, 30), (12, 6)];

/// Three simulated companies of different sizes.
async fn three_companies(key_of_second: Option<&str>) -> TestEnv {
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 7, ..SimConfig::default() }.with_companies(3);
    for (c, (employees, with_history)) in sim.companies.iter_mut().zip(SIZES) {
        (c.employees, c.with_history) = (employees, with_history);
    }
    sim.companies[1].key = key_of_second.map(str::to_string);
    let mut env = TestEnv::with_sim(sim).await;
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    env
}

/// `POST /api/sync` for one company; its session id.
pub async fn request_for(app: &TestApp, company: Uuid) -> String {
    let (status, requested) = app.request_sync(Some(json!({ "company_id": company }))).await;
    assert_eq!(status, 202, "{requested}");
    requested["session_id"].as_str().unwrap().to_string()
}

/// Ask for a sync of each company, all at once; then wait for each session's end (in their order).
async fn sync_all(app: &TestApp, companies: &[Uuid]) -> Vec<Value> {
    let mut ids = Vec::new();
    for &c in companies {
        ids.push(request_for(app, c).await);
    }
    let mut sessions = Vec::new();
    for id in &ids {
        sessions.push(app.wait_for_session(id).await);
    }
    sessions
}

async fn issues(app: &TestApp, company: Uuid) -> Vec<Value> {
    app.get_json(&format!("/api/issues?company_id={company}")).await["issues"].as_array().unwrap().clone()
}

/// The company's issues once its first one satisfies `done` (within 10 s).
async fn issues_once(app: &TestApp, company: Uuid, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let path = format!("/api/issues?company_id={company}");
    let v = poll_json(app, &path, Duration::from_secs(10), |v| v["issues"].get(0).is_some_and(&done)).await;
    v["issues"].as_array().unwrap().clone()
}

#[tokio::test]
async fn three_companies_synced_side_by_side_each_get_their_own_counts_changes_and_subjects() {
    // Arrange
    let mut env = three_companies(None).await;
    let app = env.spawn_app().await;
    let companies = env.companies.clone();

    // Act: all three at once.
    let sessions = sync_all(&app, &companies).await;

    // Assert: each company's session, counts and changes are its own.
    for ((s, &company), (employees, with_history)) in sessions.iter().zip(&companies).zip(SIZES) {
        assert_eq!(s["status"], "completed", "{s}");
        assert_eq!(s["company_id"], company.to_string());
        assert_eq!(
            (s["employees_processed"].as_u64(), s["history_collected"].as_u64()),
            (Some(employees as u64), Some(with_history as u64)),
            "{s}"
        );
        assert_eq!(s["changes_detected"], 3, "three historical transitions each: {s}");
        let stats = app.get_json(&format!("/api/stats?company_id={company}")).await;
        assert_eq!(
            (stats["employees"].as_u64(), stats["changes_total"].as_u64()),
            (Some(employees as u64), Some(3)),
            "{stats}"
        );
        let status = app.get_json(&format!("/api/sync/status?company_id={company}")).await;
        assert_eq!((status["status"].as_str(), &status["last_session"]["id"]), (Some("current"), &s["id"]), "{status}");
        let recorded = count(
            &app,
            &format!(
                "SELECT count(*) FROM changes WHERE company_id = '{company}' AND session_id = '{}'",
                s["id"].as_str().unwrap()
            ),
        )
        .await;
        assert_eq!(recorded, 3);
    }
    // Each company's change events on its own subjects, with its source.
    let prefix = app.bus.prefix().to_string();
    let events = eventually("nine change events", Duration::from_secs(15), async || {
        let events = change_events(&app).await;
        if events.len() == 9 { Ok(events) } else { Err(events.len()) }
    })
    .await;
    let mut by_company: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        let company = e["data"]["company_id"].as_str().unwrap().to_string();
        assert_eq!(e["source"], format!("/employes-sync/companies/{company}"), "{e}");
        *by_company.entry(company).or_default() += 1;
    }
    assert!(by_company.values().all(|n| *n == 3), "{by_company:?}");
    for &company in &companies {
        let own =
            testkit::nats::replay(&app.bus.js, &app.bus.changes_stream(), &format!("{prefix}.changes.{company}.>"))
                .await;
        assert_eq!(own.len(), 3, "a subscriber of one company's subjects gets its three");
        assert!(own.iter().all(|e| e["data"]["company_id"] == company.to_string()));
    }
    // Naming no company is a 400 once there are several; an unknown one is a 404.
    let (status, body) =
        reply(app.http.get(app.url("/api/sync/status")).bearer_auth(API_TOKEN).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("company_required")), "{body}");
    let (status, body) = app.request_sync(None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("company_required")), "{body}");
    let unknown = app.get(&format!("/api/stats?company_id={}", Uuid::new_v4())).await;
    assert_eq!(unknown.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_key_fails_only_its_company_and_opens_one_auth_failed_issue_that_a_clean_sync_resolves() {
    // Arrange: the second company accepts only its own key; the deployment shares another.
    let mut env = three_companies(Some("the-second-companys-own-key")).await;
    let app = env.spawn_app().await;
    let companies = env.companies.clone();

    // Act: every company synced, the second twice.
    let sessions = sync_all(&app, &companies).await;
    let again = app.wait_for_session(&request_for(&app, companies[1]).await).await;

    // Assert: the others completed; the second failed twice, raising one issue seen twice.
    assert_eq!(
        (sessions[0]["status"].as_str(), sessions[2]["status"].as_str()),
        (Some("completed"), Some("completed"))
    );
    for s in [&sessions[1], &again] {
        assert_eq!(
            (s["status"].as_str(), s["failure_reason"].as_str()),
            (Some("failed"), Some("Employes rejected the API key")),
            "{s}"
        );
    }
    // A session's issues are assessed right after its row ends (before its last event), so a
    // client that saw the row end may look a moment before they are.
    let open = issues_once(&app, companies[1], |i| i["count"] == 2).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["kind"].as_str(), open[0]["status"].as_str(), open[0]["count"].as_i64()),
        (Some("auth_failed"), Some("ongoing"), Some(2))
    );
    let message = open[0]["message"].as_str().unwrap();
    assert!(message.contains("rejected") && !message.contains("the-second-companys-own-key"), "{message}");
    assert!(issues(&app, companies[0]).await.is_empty());

    // Act: the company's own key is set; its next sync is clean.
    let registry = app.companies.clone().unwrap();
    registry.set_api_key(companies[1], Some("the-second-companys-own-key".to_string().into())).await.unwrap();
    let fixed = app.wait_for_session(&request_for(&app, companies[1]).await).await;

    // Assert: the issue is resolved, not deleted.
    assert_eq!(fixed["status"], "completed", "{fixed}");
    let resolved = issues_once(&app, companies[1], |i| i["status"] == "resolved").await;
    assert_eq!((resolved.len(), resolved[0]["status"].as_str()), (1, Some("resolved")), "{resolved:?}");
    assert!(app.get_json("/api/issues?status=ongoing").await["issues"].as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_company_whose_api_keeps_failing_fails_alone_with_an_api_unavailable_issue() {
    // Arrange: the second company's API answers 503 to everything.
    let mut env = three_companies(None).await;
    env.set("EMPLOYES_MAX_ATTEMPTS", "2");
    let app = env.spawn_app().await;
    let companies = env.companies.clone();
    env.sim_control.faults_in(companies[1], json!({"error_rate": 1.0, "error_status": 503})).await;

    // Act
    let sessions = sync_all(&app, &companies).await;

    // Assert
    assert_eq!(
        (sessions[0]["status"].as_str(), sessions[2]["status"].as_str()),
        (Some("completed"), Some("completed"))
    );
    assert_eq!(sessions[1]["status"], "failed", "{}", sessions[1]);
    let open = issues_once(&app, companies[1], |_| true).await;
    assert_eq!((open.len(), open[0]["kind"].as_str()), (1, Some("api_unavailable")), "{open:?}");
    assert!(open[0]["message"].as_str().unwrap().contains("503"), "{open:?}");
    app.stop().await;
}

/// A JWT-shaped key whose `exp` is `days` from now.
fn jwt_expiring_in(days: i64) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = (chrono::Utc::now() + chrono::TimeDelta::days(days)).timestamp();
    format!(
        "{}.{}.signature",
        engine.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        engine.encode(format!(r#"{{"exp":{exp}}}"#))
    )
}

#[tokio::test]
async fn a_key_expiring_within_30_days_opens_api_key_expiring_and_a_later_key_resolves_it() {
    // Arrange
    let mut env = three_companies(None).await;
    let app = env.spawn_app().await;
    let company = env.companies[0];
    let registry = app.companies.clone().unwrap();

    // Act: a key that expires in 12 days.
    registry.set_api_key(company, Some(jwt_expiring_in(12).into())).await.unwrap();

    // Assert: its expiry is known, and the issue opens (the check runs when companies change).
    let expires = registry.get(company).unwrap().company.api_key_expires_at.expect("read from the JWT");
    assert!((expires - chrono::Utc::now()).num_days() >= 11);
    let open = issues_once(&app, company, |_| true).await;
    assert_eq!((open[0]["kind"].as_str(), open[0]["status"].as_str()), (Some("api_key_expiring"), Some("ongoing")));
    assert!(open[0]["message"].as_str().unwrap().contains("expires on"), "{open:?}");

    // Act: a key valid for a year replaces it.
    registry.set_api_key(company, Some(jwt_expiring_in(365).into())).await.unwrap();

    // Assert
    issues_once(&app, company, |i| i["status"] == "resolved").await;
    app.stop().await;
}
