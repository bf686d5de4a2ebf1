//! The endpoint resource over HTTP: an admin registers, lists (in pages), reads, changes, rotates
//! and deletes endpoints, each write audited; everyone else is refused; bad input is refused
//! naming the field and stores nothing; secrets are shown once and never again; a running
//! dispatcher follows every change without a restart.

use std::time::Duration;

use employes_sync::cli::Role;
use reqwest::Method as M;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

const OPERATOR: &str = "operator-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";
const SCOPED_ADMIN: &str = "scoped-admin-token-0123456789";

/// Tokens: `ci` (admin of every company), `ops` (operator), `ro` (viewer), `scoped` (an admin of
/// one company that is not the simulator's).
fn tokens(env: &mut TestEnv, other: Uuid) {
    env.set(
        "API_TOKENS",
        &format!("ci:{API_TOKEN}:admin,ops:{OPERATOR}:operator,ro:{VIEWER}:viewer,scoped:{SCOPED_ADMIN}:admin:{other}"),
    );
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let page = app.get_json("/api/audit?limit=500").await;
    let mut entries: Vec<(String, String, Option<String>)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("endpoint"))
        .map(|e| {
            assert_eq!((&e["actor"], &e["role"]), (&json!("ci"), &json!("admin")), "{e}");
            (
                e["action"].as_str().unwrap().into(),
                e["target"].as_str().unwrap().into(),
                e["request_id"].as_str().map(Into::into),
            )
        })
        .collect();
    entries.reverse();
    entries
}

#[tokio::test]
async fn an_admin_registers_pages_reads_changes_rotates_and_deletes_endpoints_and_each_write_is_audited() {
    // Arrange
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    tokens(&mut env, Uuid::new_v4());
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let company = env.companies[0];

    // Act: register three endpoints.
    let body = json!({"url": "http://127.0.0.1:9/hook", "company_id": company,
                      "types": ["salary_change", "milestone.notice_due", "salary_change"], "description": "payroll"});
    let first = create(&app, body).await;
    let second = create(&app, json!({"url": "https://93.184.215.14/a"})).await;
    let third = create(&app, json!({"url": "https://93.184.215.14/b", "types": null})).await;
    let id = first["id"].as_str().unwrap().to_string();

    // Assert: the answer holds the secret; nothing read later does.
    assert_eq!(
        (&first["url"], &first["company_id"], &first["types"], &first["enabled"], &first["description"]),
        (
            &json!("http://127.0.0.1:9/hook"),
            &json!(company),
            &json!(["salary_change", "milestone.notice_due"]),
            &json!(true),
            &json!("payroll")
        )
    );
    let secret = first["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_") && secret != second["secret"].as_str().unwrap(), "{first}");
    assert_eq!((&second["company_id"], &second["types"], &third["types"]), (&Value::Null, &Value::Null, &Value::Null));
    let (_, one) = send(&app, API_TOKEN, M::GET, &format!("/api/endpoints/{id}"), None).await;
    assert_eq!(one["id"], json!(id));
    assert!(one.get("secret").is_none() && !one.to_string().contains("whsec_"), "{one}");

    // Pages of two, by id: every endpoint once.
    let page = app.get_json("/api/endpoints?limit=2").await;
    let cursor = page["next_cursor"].as_str().expect("a second page").to_string();
    let rest = app.get_json(&format!("/api/endpoints?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["next_cursor"], Value::Null);
    let listed: Vec<String> = [&page, &rest]
        .iter()
        .flat_map(|p| p["endpoints"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()))
        .collect();
    let mut all: Vec<String> =
        [&first, &second, &third].iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    all.sort();
    assert_eq!(listed, all, "by id, each once");
    assert!(!page.to_string().contains("whsec_") && !rest.to_string().contains("whsec_"));

    // Change, disable, enable, rotate, delete.
    let path = format!("/api/endpoints/{id}");
    let (status, changed) = send(
        &app,
        API_TOKEN,
        M::PATCH,
        &path,
        Some(json!({"types": ["hours_change"], "description": null, "enabled": false})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (&changed["types"], &changed["description"], &changed["enabled"], &changed["disabled_reason"]),
        (&json!(["hours_change"]), &Value::Null, &json!(false), &json!("disabled by an admin"))
    );
    let (_, enabled) = send(&app, API_TOKEN, M::PATCH, &path, Some(json!({"enabled": true, "types": null}))).await;
    assert_eq!(
        (&enabled["enabled"], &enabled["disabled_reason"], &enabled["types"]),
        (&json!(true), &Value::Null, &Value::Null)
    );
    let (status, rotated) = send(&app, API_TOKEN, M::POST, &format!("{path}/rotate-secret"), None).await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let (deleted, _) = send(&app, API_TOKEN, M::DELETE, &path, None).await;
    let (gone, _) = send(&app, API_TOKEN, M::GET, &path, None).await;
    let (again, _) = send(&app, API_TOKEN, M::DELETE, &path, None).await;
    assert_eq!((deleted, gone, again), (204, 404, 404));

    // Every write is in the audit log, oldest first, with its endpoint and request id.
    let actions = audit_actions(&app).await;
    let summary: Vec<(&str, &str)> = actions.iter().map(|(a, t, _)| (a.as_str(), t.as_str())).collect();
    let (second_id, third_id) = (second["id"].as_str().unwrap(), third["id"].as_str().unwrap());
    assert_eq!(
        summary,
        [
            ("endpoint_created", id.as_str()),
            ("endpoint_created", second_id),
            ("endpoint_created", third_id),
            ("endpoint_updated", id.as_str()),
            ("endpoint_updated", id.as_str()),
            ("endpoint_secret_rotated", id.as_str()),
            ("endpoint_deleted", id.as_str()),
        ]
    );
    assert!(actions.iter().all(|(_, _, request)| request.is_some()), "{actions:?}");
    app.stop().await;
}

#[tokio::test]
async fn other_roles_bad_input_unknown_ids_and_other_companies_are_refused_and_store_nothing() {
    // Arrange: the SSRF guard on (private addresses refused).
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_ALLOW_PRIVATE_NETWORKS", "false");
    let other = Uuid::new_v4();
    tokens(&mut env, other);
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let company = env.companies[0];
    let ok = json!({"url": "https://93.184.215.14/hook", "company_id": company});

    // Act / Assert: roles.
    for (token, method, path) in [
        (OPERATOR, M::POST, "/api/endpoints"),
        (VIEWER, M::GET, "/api/endpoints"),
        (OPERATOR, M::GET, "/api/endpoints"),
    ] {
        let (status, body) = send(&app, token, method.clone(), path, Some(ok.clone())).await;
        assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")), "{method} {path} as {token}: {body}");
    }

    // Bad input: 400 naming the field.
    for (body, field) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "http://127.0.0.1:8080/hook"}), "ENDPOINT_ALLOW_PRIVATE_NETWORKS"),
        (json!({"url": "http://169.254.169.254/latest"}), "link-local"),
        (json!({"url": "http://localhost/hook"}), "loopback"),
        (json!({"url": "https://93.184.215.14/x", "types": ["bonus_paid"]}), "types"),
        (json!({"url": "https://93.184.215.14/x", "types": []}), "types"),
        (json!({"url": "https://93.184.215.14/x", "company_id": Uuid::new_v4()}), "company_id"),
        (json!({"url": "https://93.184.215.14/x", "company_id": "acme"}), "company_id"),
        (json!({"url": "https://93.184.215.14/x", "description": "x".repeat(501)}), "description"),
        (json!({"url": "https://93.184.215.14/x", "secret": "whsec_mine"}), "secret"),
    ] {
        let (status, answer) = send(&app, API_TOKEN, M::POST, "/api/endpoints", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains(field), "{body}: {answer}");
    }

    // Unknown and malformed ids.
    let unknown = Uuid::new_v4();
    for (method, path, body) in [
        (M::GET, format!("/api/endpoints/{unknown}"), None),
        (M::PATCH, format!("/api/endpoints/{unknown}"), Some(json!({"enabled": false}))),
        (M::DELETE, format!("/api/endpoints/{unknown}"), None),
        (M::POST, format!("/api/endpoints/{unknown}/rotate-secret"), None),
        (M::GET, format!("/api/endpoints/{unknown}/attempts"), None),
        (M::POST, format!("/api/endpoints/{unknown}/replay"), Some(json!({"since": "2026-01-01T00:00:00Z"}))),
    ] {
        let (status, answer) = send(&app, API_TOKEN, method.clone(), &path, body).await;
        assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")), "{method} {path}: {answer}");
    }
    let (malformed, _) = send(&app, API_TOKEN, M::GET, "/api/endpoints/not-a-uuid", None).await;
    assert_eq!(malformed, 400);
    assert_eq!(count(&app, "SELECT count(*) FROM endpoints").await, 0, "nothing refused is stored");

    // An admin of another company: the simulator company's endpoint is unknown to it.
    let mine = create(&app, ok.clone()).await;
    let path = format!("/api/endpoints/{}", mine["id"].as_str().unwrap());
    let (hidden, _) = send(&app, SCOPED_ADMIN, M::GET, &path, None).await;
    let (not_deleted, _) = send(&app, SCOPED_ADMIN, M::DELETE, &path, None).await;
    let (_, listed) = send(&app, SCOPED_ADMIN, M::GET, "/api/endpoints", None).await;
    let (every, answer) =
        send(&app, SCOPED_ADMIN, M::POST, "/api/endpoints", Some(json!({"url": "https://93.184.215.14/x"}))).await;
    let (foreign, _) = send(&app, SCOPED_ADMIN, M::POST, "/api/endpoints", Some(ok.clone())).await;
    assert_eq!((hidden, not_deleted, every, foreign), (404, 404, 403, 400), "{answer}");
    assert_eq!(listed, json!({"endpoints": [], "next_cursor": null}));
    let (bad_patch, answer) = send(&app, API_TOKEN, M::PATCH, &path, Some(json!({"url": "http://10.0.0.1/x"}))).await;
    assert_eq!(bad_patch, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().starts_with("url:"), "{answer}");
    let (_, still) = send(&app, API_TOKEN, M::GET, &path, None).await;
    assert_eq!(still["url"], json!("https://93.184.215.14/hook"), "a refused change changes nothing");
    let writes = audit_actions(&app).await;
    assert_eq!(writes.len(), 1, "only the one registration is audited: {writes:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_running_dispatcher_delivers_to_a_new_endpoint_and_stops_for_a_disabled_or_deleted_one_on_every_replica() {
    // Arrange: two worker replicas (this app and one more); the endpoint is registered after they
    // started, through the API.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let other = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let receiver = TestReceiver::start(vec![]).await;
    let created = create(&app, json!({"url": receiver.url(), "types": changes()})).await;
    let id = created["id"].as_str().unwrap().to_string();
    let endpoint: Uuid = id.parse().unwrap();

    // Act 1: the first sync's three changes.
    app.sync_and_wait(None).await;

    // Assert 1: delivered, each once.
    receiver.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(delivered(&app, endpoint).await, change_ids(&app, env.companies[0], None).await);

    // Act 2: disabled; a raise upstream and a sync.
    let path = format!("/api/endpoints/{id}");
    let (status, _) = send(&app, API_TOKEN, M::PATCH, &path, Some(json!({"enabled": false}))).await;
    assert_eq!(status, 200);
    let employee = app.sim.employee_id(1).await;
    let raise = |wage: u32, from: &str| json!({"kind": "salary", "employee_id": employee, "month_wage": wage, "start_date": from});
    app.sim.mutate(raise(4100, "2026-12-01")).await;
    app.sync_and_wait(None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.seen().len(), 3, "nothing goes to a disabled endpoint");

    // Act 3: enabled again (what waited is delivered), then deleted, then another raise.
    send(&app, API_TOKEN, M::PATCH, &path, Some(json!({"enabled": true}))).await;
    receiver.wait_for(4, Duration::from_secs(30)).await;
    let (deleted, _) = send(&app, API_TOKEN, M::DELETE, &path, None).await;
    assert_eq!(deleted, 204);
    app.sim.mutate(raise(4200, "2027-01-01")).await;
    app.sync_and_wait(None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Assert: nothing after the delete, and its consumers are gone from every stream.
    assert_eq!(receiver.seen().len(), 4, "nothing goes to a deleted endpoint");
    let prefix = format!("{}_endpoint_{}_", app.bus.stream_prefix(), endpoint.simple());
    eventually("the deleted endpoint's consumers are removed", Duration::from_secs(20), async || {
        let mut left = Vec::new();
        for stream in [app.bus.changes_stream(), app.bus.milestones_stream(), app.bus.replay_stream()] {
            let stream = app.bus.js.get_stream(stream).await.unwrap();
            let names: Vec<String> = futures::TryStreamExt::try_collect(stream.consumer_names()).await.unwrap();
            left.extend(names.into_iter().filter(|n| n.starts_with(&prefix)));
        }
        if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
    })
    .await;
    other.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_attempts_log_pages_newest_first_and_filters_by_status() {
    // Arrange: a receiver failing twice, then taking everything.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_CONCURRENCY", "1");
    let app = env.spawn_app().await;
    let receiver = TestReceiver::start(vec![Reply::Status(500), Reply::Status(503)]).await;
    let created = create(&app, json!({"url": receiver.url(), "types": ["salary_change"]})).await;
    let path = format!("/api/endpoints/{}/attempts", created["id"].as_str().unwrap());

    // Act: one salary change: attempts 500, 503, 200.
    app.sync_and_wait(None).await;
    receiver.wait_for(3, Duration::from_secs(30)).await;
    let all = poll_json(&app, &path, Duration::from_secs(10), |v| v["attempts"].as_array().unwrap().len() == 3).await;
    let mut paged = Vec::new();
    let mut next = format!("{path}?limit=1");
    loop {
        let page = app.get_json(&next).await;
        paged.extend(page["attempts"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{path}?limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let pending = app.get_json(&format!("{path}?status=pending")).await;
    let succeeded = app.get_json(&format!("{path}?status=succeeded")).await;
    let (bad, _) = send(&app, API_TOKEN, M::GET, &format!("{path}?status=later"), None).await;
    let (bad_cursor, _) = send(&app, API_TOKEN, M::GET, &format!("{path}?cursor=bm9wZQ"), None).await;

    // Assert
    assert_eq!(paged, all["attempts"].as_array().unwrap().clone(), "one page at a time, the same list");
    let summary: Vec<(i64, &str, i64)> = paged
        .iter()
        .map(|a| {
            (a["attempt"].as_i64().unwrap(), a["status"].as_str().unwrap(), a["response_status"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(summary, [(3, "succeeded", 200), (2, "pending", 503), (1, "pending", 500)], "newest first");
    assert!(paged.iter().all(|a| a["event_id"] == paged[0]["event_id"] && a["event_type"] == "salary_change"));
    assert_eq!(pending["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(succeeded["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(succeeded["attempts"][0]["next_attempt_at"], Value::Null);
    assert_eq!((bad, bad_cursor), (400, 400));
    app.stop().await;
}
