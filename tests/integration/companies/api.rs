//! The company resource over HTTP: an admin adds, changes and deletes companies (every replica
//! sees it at once), an operator checks a key, a viewer only reads; bad input is refused naming
//! the field and stores nothing; keys never come back.

use employes_sync::{cli::Role, companies::SecretsKey, simulator::SimConfig};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::*;

const ADMIN: &str = "admin-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";
const SECOND_KEY: &str = "the-second-company-key-0123456789";

/// Two simulated companies, only the first registered by the environment; the second accepts only
/// [`SECOND_KEY`]. Tokens: `ci` (operator), `boss` (admin), `ro` (viewer).
async fn one_registered_of_two(secrets_key: bool) -> TestEnv {
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 5, ..SimConfig::default() }.with_companies(2);
    for c in &mut sim.companies {
        (c.employees, c.with_history) = (10, 6);
    }
    sim.companies[1].key = Some(SECOND_KEY.to_string());
    let mut env = TestEnv::with_sim(sim).await;
    let first = env.companies[0].to_string();
    env.set("EMPLOYES_COMPANY_ID", &first);
    env.set("API_TOKENS", &format!("ci:{API_TOKEN},boss:{ADMIN}:admin,ro:{VIEWER}:viewer"));
    if secrets_key {
        env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    }
    env
}

async fn send(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

#[tokio::test]
async fn an_admin_adds_changes_and_deletes_a_company_and_every_replica_sees_it() {
    // Arrange
    let mut env = one_registered_of_two(true).await;
    let app = env.spawn_app().await;
    let other_replica = env.spawn_app_with_roles(vec![Role::Http]).await;
    let second = env.companies[1];
    let path = format!("/api/companies/{second}");
    use reqwest::Method as M;

    // Act: add it.
    let body = json!({ "id": second, "name": "Tweede B.V.", "api_key": SECOND_KEY, "rate_limit": 40,
                       "schedule": "off", "webhook_secrets": [WEBHOOK_SECRET] });
    let (added, company) = send(&app, ADMIN, M::POST, "/api/companies", Some(body.clone())).await;

    // Assert: 201 with the company, never its key; the other replica knows it at once.
    assert_eq!(added, 201, "{company}");
    assert_eq!(
        (&company["id"], &company["name"], &company["rate_limit"], &company["schedule"]),
        (&json!(second), &json!("Tweede B.V."), &json!(40), &json!("off"))
    );
    assert_eq!(
        (&company["api_key_set"], &company["status"], &company["employees"]),
        (&json!(true), &json!("never"), &json!(0))
    );
    assert!(!company.to_string().contains(SECOND_KEY) && !company.to_string().contains("whsec_"), "{company}");
    // Announced on <p>.control.companies: the other replica has it within moments, not at the
    // 30 s reload.
    eventually("the other replica knows the company", std::time::Duration::from_secs(5), async || {
        send(&other_replica, VIEWER, M::GET, &path, None).await.0 == 200
    })
    .await;
    let (again, exists) = send(&app, ADMIN, M::POST, "/api/companies", Some(body)).await;
    assert_eq!((again, exists["error"].as_str()), (409, Some("company_exists")), "{exists}");

    // It syncs with its stored key; the view then shows it.
    let session = app.sync_and_wait(Some(json!({ "company_id": second }))).await;
    assert_eq!((session["status"].as_str(), session["employees_processed"].as_u64()), (Some("completed"), Some(10)));
    let (_, company) = send(&app, VIEWER, M::GET, &path, None).await;
    assert_eq!(
        (&company["status"], &company["employees"], &company["last_error"]),
        (&json!("current"), &json!(10), &Value::Null)
    );

    // Change it: a setting, and one back to the default.
    let (patched, company) =
        send(&app, ADMIN, M::PATCH, &path, Some(json!({ "name": "Tweede Holding", "rate_limit": null }))).await;
    assert_eq!(patched, 200, "{company}");
    assert_eq!((&company["name"], &company["rate_limit"]), (&json!("Tweede Holding"), &json!(1000)), "{company}");

    // Delete it: 204, gone with all its data, on both replicas.
    let (deleted, _) = send(&app, ADMIN, M::DELETE, &path, None).await;
    assert_eq!(deleted, 204);
    // The other replica drops it when the announcement arrives (milliseconds; not the 30 s reload).
    eventually("the other replica forgets the company", std::time::Duration::from_secs(5), async || {
        send(&other_replica, VIEWER, M::GET, &path, None).await.0 == 404
    })
    .await;
    for table in ["sync_sessions", "employees", "changes", "companies"] {
        let column = if table == "companies" { "id" } else { "company_id" };
        let left = count(&app, &format!("SELECT count(*) FROM {table} WHERE {column} = '{second}'")).await;
        assert_eq!(left, 0, "{table}");
    }
    other_replica.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_stores_nothing() {
    // Arrange
    let mut env = one_registered_of_two(true).await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let second = env.companies[1];
    let first = env.companies[0];
    use reqwest::Method as M;

    // Act + Assert: each bad body names what is wrong.
    for (body, needle) in [
        (json!({ "id": second }), "api_key"),
        (json!({ "id": "acme", "api_key": "k" }), "id"),
        (json!({ "id": second, "api_key": "has space" }), "api_key:"),
        (json!({ "id": second, "api_key": "k", "rate_limit": 0 }), "rate_limit:"),
        (json!({ "id": second, "api_key": "k", "rate_limit": "fast" }), "rate_limit"),
        (json!({ "id": second, "api_key": "k", "schedule": "every day" }), "schedule:"),
        (json!({ "id": second, "api_key": "k", "watch_interval": "often" }), "watch_interval:"),
        (json!({ "id": second, "api_key": "k", "webhook_secrets": ["plain"] }), "webhook_secrets:"),
        (json!({ "id": second, "api_key": "k", "chain_max_contracts": 0 }), "chain_max_contracts:"),
        (json!({ "id": second, "api_key": "k", "colour": "red" }), "colour"),
    ] {
        let (status, err) = send(&app, ADMIN, M::POST, "/api/companies", Some(body.clone())).await;
        assert_eq!((status, err["error"].as_str()), (400, Some("bad_request")), "{body}: {err}");
        assert!(err["message"].as_str().unwrap().contains(needle), "{body}: {err}");
        assert!(!err["message"].as_str().unwrap().contains("has space"), "never the key: {err}");
    }
    let (status, err) =
        send(&app, ADMIN, M::PATCH, &format!("/api/companies/{first}"), Some(json!({ "schedule": "soon" }))).await;
    assert_eq!((status, err["message"].as_str().map(|m| m.starts_with("schedule:"))), (400, Some(true)), "{err}");
    let (status, _) = send(&app, ADMIN, M::PATCH, &format!("/api/companies/{second}"), Some(json!({}))).await;
    assert_eq!(status, 404, "not a company (yet)");
    assert_eq!(count(&app, &format!("SELECT count(*) FROM companies WHERE id = '{second}'")).await, 0);

    // Roles: an operator and a viewer may not add; a viewer lists.
    let body = json!({ "id": second, "api_key": SECOND_KEY });
    let (operator, _) = send(&app, API_TOKEN, M::POST, "/api/companies", Some(body.clone())).await;
    let (viewer, _) = send(&app, VIEWER, M::DELETE, &format!("/api/companies/{first}"), None).await;
    let (listed, list) = send(&app, VIEWER, M::GET, "/api/companies", None).await;
    assert_eq!((operator, viewer, listed), (403, 403, 200));
    assert_eq!(list["companies"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["next_cursor"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn storing_a_key_without_secrets_key_is_refused_with_secrets_key_missing() {
    // Arrange
    let mut env = one_registered_of_two(false).await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let second = env.companies[1];
    // Act
    let (status, err) = send(
        &app,
        ADMIN,
        reqwest::Method::POST,
        "/api/companies",
        Some(json!({ "id": second, "api_key": SECOND_KEY })),
    )
    .await;
    // Assert
    assert_eq!((status, err["error"].as_str()), (400, Some("secrets_key_missing")), "{err}");
    assert_eq!(count(&app, &format!("SELECT count(*) FROM companies WHERE id = '{second}'")).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_check_tells_whether_the_key_and_the_id_work_before_any_sync() {
    // Arrange: the second company added with a wrong key.
    let mut env = one_registered_of_two(true).await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let (first, second) = (env.companies[0], env.companies[1]);
    use reqwest::Method as M;
    let body = json!({ "id": second, "api_key": "not-the-right-key" });
    assert_eq!(send(&app, ADMIN, M::POST, "/api/companies", Some(body)).await.0, 201);

    // Act
    let (_, good) = send(&app, API_TOKEN, M::POST, &format!("/api/companies/{first}/check"), None).await;
    let (_, bad) = send(&app, API_TOKEN, M::POST, &format!("/api/companies/{second}/check"), None).await;
    let (viewer, _) = send(&app, VIEWER, M::POST, &format!("/api/companies/{first}/check"), None).await;
    let fixed = json!({ "api_key": SECOND_KEY });
    let (patched, _) = send(&app, ADMIN, M::PATCH, &format!("/api/companies/{second}"), Some(fixed)).await;
    let (_, now_good) = send(&app, API_TOKEN, M::POST, &format!("/api/companies/{second}/check"), None).await;

    // Assert
    assert_eq!(good, json!({ "ok": true, "employees": 10 }));
    assert_eq!(bad["ok"], false, "{bad}");
    assert!(bad["reason"].as_str().unwrap().contains("rejected the API key"), "{bad}");
    assert!(!bad.to_string().contains("not-the-right-key"));
    assert_eq!((viewer, patched), (403, 200));
    assert_eq!(now_good, json!({ "ok": true, "employees": 10 }));
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 0, "a check is no sync");
    app.stop().await;
}

#[tokio::test]
async fn a_check_that_gets_no_answer_in_time_says_so_well_within_the_request_timeout() {
    // Arrange: Employes answers the first company's requests only after 5 s (a check waiting
    // behind a running sync's requests on the same key waits alike).
    let mut env = one_registered_of_two(false).await;
    env.set("HTTP_REQUEST_TIMEOUT", "6s");
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let first = env.companies[0];
    env.sim_control.faults_in(first, json!({ "latency_ms": 5000 })).await;
    // Act
    let started = std::time::Instant::now();
    let (status, answer) =
        send(&app, API_TOKEN, reqwest::Method::POST, &format!("/api/companies/{first}/check"), None).await;
    // Assert: half the request timeout, then 200 with the reason (no 408).
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("did not answer within 3 s"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    app.stop().await;
}
