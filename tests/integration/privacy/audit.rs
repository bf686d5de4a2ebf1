//! `GET /api/audit`: an entry for every audited action, with its actor and role, in pages.

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

fn jwt(email: &str) -> String {
    let claims = json!({"email": email, "exp": chrono::Utc::now().timestamp() + 600});
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
}

async fn post_sync(app: &TestApp, token: &str, request_id: &str, key: Option<&str>) -> Value {
    let mut req = app.http.post(app.url("/api/sync")).bearer_auth(token).header("x-request-id", request_id);
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    let (status, body) = reply(req.send().await.unwrap()).await;
    assert_eq!(status, 202, "{body}");
    body
}

/// Each entry's actor, role, action, company, target (`-` for none) and request id.
fn summaries(entries: &[Value]) -> Vec<(&str, &str, &str, &str, &str, Value)> {
    entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("-");
            (s("actor"), s("role"), s("action"), s("company_id"), s("target"), e["request_id"].clone())
        })
        .collect()
}

/// The CLI with `args`, as the test's service is configured (and `envs`); it must succeed.
fn run_cli(env: &TestEnv, args: &[&str], envs: &[(&str, &str)]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_employes-sync"))
        .args(args)
        .envs(&env.settings)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every page of the audit log, `limit` entries at a time.
async fn all_entries(app: &TestApp, limit: usize) -> Vec<Value> {
    let (mut entries, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/audit?limit={limit}&cursor={c}"),
            None => format!("/api/audit?limit={limit}"),
        };
        let page = app.get_json(&path).await;
        let items = page["entries"].as_array().unwrap();
        assert!(items.len() <= limit, "{page}");
        entries.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return entries,
        }
    }
}

#[tokio::test]
async fn every_sync_request_by_a_person_a_token_or_the_cli_is_audited_with_actor_role_and_request_id() {
    // Arrange
    let mut env = TestEnv::new().await;
    env.set("API_TOKENS", &format!("ci:{API_TOKEN}:admin"));
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let company = env.companies[0].to_string();
    // Act: a token (twice with one Idempotency-Key: one request), a person, and the CLI.
    let token = post_sync(&app, API_TOKEN, "req-token-1", Some("k1")).await;
    let repeat = post_sync(&app, API_TOKEN, "req-token-2", Some("k1")).await;
    assert_eq!(repeat["session_id"], token["session_id"]);
    let person = post_sync(&app, &jwt("hr.admin@example.nl"), "req-person-1", None).await;
    run_cli(&env, &["sync", "--as", "Ana de Vries (on call)"], &[]);
    // Assert: newest first, one page at a time, each entry complete.
    let entries = all_entries(&app, 1).await;
    let seen = summaries(&entries);
    let (person_session, token_session) =
        (person["session_id"].as_str().unwrap(), token["session_id"].as_str().unwrap());
    let cli_session = entries[0]["target"].as_str().unwrap();
    assert_eq!(
        seen,
        vec![
            ("Ana de Vries (on call)", "admin", "sync_requested", company.as_str(), cli_session, Value::Null),
            (
                "hr.admin@example.nl",
                "operator",
                "sync_requested",
                company.as_str(),
                person_session,
                json!("req-person-1")
            ),
            ("ci", "admin", "sync_requested", company.as_str(), token_session, json!("req-token-1")),
        ]
    );
    let at: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
    app.stop().await;
}

#[tokio::test]
async fn the_scheduler_and_webhooks_are_not_audited_and_a_bad_cursor_is_refused() {
    // Arrange: a webhook-triggered sync and a scheduled one are machine actions.
    let mut env = TestEnv::new().await;
    env.set("SYNC_SCHEDULE", "* * * * * *");
    env.set("API_TOKENS", &format!("ci:{API_TOKEN}:admin"));
    let app = env.spawn_app().await;
    let employee = app.sim.employee_id(0).await;
    app.sim
        .mutate(json!({"kind": "personal", "employee_id": employee, "field": "email", "value": "new@example.nl"}))
        .await;
    // Act
    poll_json(&app, "/api/sync/sessions?limit=100", std::time::Duration::from_secs(30), |v| {
        let sources: Vec<&str> =
            v["sessions"].as_array().unwrap().iter().filter_map(|s| s["source"].as_str()).collect();
        // The webhook's employee may join a running scheduled sync instead of opening its own
        // session (coalescing), so only the scheduled session is waited for.
        sources.contains(&"scheduler")
    })
    .await;
    let (status, body) =
        reply(app.http.get(app.url("/api/audit?cursor=bm9wZQ")).bearer_auth(API_TOKEN).send().await.unwrap()).await;
    // Assert
    assert_eq!(app.get_json("/api/audit").await, json!({"entries": [], "next_cursor": null}));
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn every_company_change_through_the_api_or_the_cli_is_audited_without_its_key_or_secrets() {
    // Arrange: two companies of the simulator, only the first registered; an admin token.
    use employes_sync::{companies::SecretsKey, simulator::SimConfig};
    use secrecy::ExposeSecret;
    let sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 4, ..SimConfig::default() }.with_companies(3);
    let mut env = TestEnv::with_sim(sim).await;
    let (first, second, third) = (env.companies[0], env.companies[1], env.companies[2]);
    env.set("EMPLOYES_COMPANY_ID", &first.to_string());
    env.set("API_TOKENS", &format!("boss:{API_TOKEN}:admin"));
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let (key, new_key, secret) =
        ("first-key-of-the-second-0123", "second-key-of-the-second-0123", "whsec_YXVkaXQtdGVzdC1zZWNyZXQtMDEyMzQ1Ng==");
    let send = async |method: reqwest::Method, path: String, request_id: &str, body: Option<Value>| {
        let mut req =
            app.http.request(method, app.url(&path)).bearer_auth(API_TOKEN).header("x-request-id", request_id);
        if let Some(body) = body {
            req = req.json(&body);
        }
        reply(req.send().await.unwrap()).await.0
    };
    use reqwest::Method as M;
    // Act: through the API, an add (with key and secret), a change of key, a delete; a refused
    // add (exists) records nothing. Through the CLI, an add and a remove.
    let path = format!("/api/companies/{second}");
    let body = json!({"id": second, "api_key": key, "webhook_secrets": [secret]});
    assert_eq!(send(M::POST, "/api/companies".into(), "req-add", Some(body.clone())).await, 201);
    assert_eq!(send(M::POST, "/api/companies".into(), "req-again", Some(body)).await, 409);
    assert_eq!(send(M::PATCH, path.clone(), "req-patch", Some(json!({"api_key": new_key}))).await, 200);
    assert_eq!(send(M::DELETE, path, "req-delete", None).await, 204);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "the-third-companys-key-0123").unwrap();
    let third_id = third.to_string();
    for args in [
        vec!["companies", "add", "--id", &third_id, "--api-key-file", key_file.to_str().unwrap()],
        vec!["companies", "remove", &third_id],
    ] {
        run_cli(&env, &args, &[("SUDO_USER", "ana.admin")]);
    }
    // Assert: one entry per change, newest first, each with its actor, role, company and request.
    let entries = all_entries(&app, 100).await;
    let seen = summaries(&entries);
    let (second, third) = (second.to_string(), third.to_string());
    assert_eq!(
        seen,
        vec![
            ("ana.admin", "admin", "company_deleted", third.as_str(), third.as_str(), Value::Null),
            ("ana.admin", "admin", "company_created", third.as_str(), third.as_str(), Value::Null),
            ("boss", "admin", "company_deleted", second.as_str(), second.as_str(), json!("req-delete")),
            ("boss", "admin", "company_updated", second.as_str(), second.as_str(), json!("req-patch")),
            ("boss", "admin", "company_created", second.as_str(), second.as_str(), json!("req-add")),
        ]
    );
    // No key or secret in the log, as served or as stored.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM audit_entries a").fetch_all(&app.db).await.unwrap();
    let served = serde_json::to_string(&entries).unwrap();
    for text in stored.iter().chain([&served]) {
        for needle in [key, new_key, secret, "the-third-companys-key", "whsec_"] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
    }
    app.stop().await;
}
