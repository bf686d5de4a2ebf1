//! Roles and company scopes on every route (a company outside the caller's scope is 404 as if
//! unknown; a role that may not act is 403), keyset paging of the lists, and the CSV export of
//! changes.

use std::collections::BTreeSet;

use employes_sync::simulator::SimConfig;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::*;

const VIEWER: &str = "viewer-token-0123456789";
const SCOPED_OPERATOR: &str = "operator-token-0123456789";

/// Two small simulated companies; tokens: `ci` (operator of all), `viewer` (viewer of the first),
/// `op` (operator of the second).
async fn two_companies() -> TestEnv {
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 11, ..SimConfig::default() }.with_companies(2);
    for c in &mut sim.companies {
        (c.employees, c.with_history) = (12, 8);
    }
    let mut env = TestEnv::with_sim(sim).await;
    let (first, second) = (env.companies[0], env.companies[1]);
    env.set(
        "API_TOKENS",
        &format!("ci:{API_TOKEN},viewer:{VIEWER}:viewer:{first},op:{SCOPED_OPERATOR}:operator:{second}"),
    );
    env
}

async fn call(app: &TestApp, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    call(app, token, reqwest::Method::GET, path, None).await
}

fn jwt(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 600);
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
}

fn companies_of(list: &Value, key: &str) -> BTreeSet<String> {
    list[key].as_array().unwrap().iter().map(|i| i["company_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_viewer_scoped_to_one_company_sees_only_it_and_may_not_trigger_a_sync() {
    // Arrange: both companies synced once.
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);
    let mine = app.sync_and_wait(Some(json!({ "company_id": first }))).await;
    let other = app.sync_and_wait(Some(json!({ "company_id": second }))).await;
    let other_id = other["id"].as_str().unwrap();

    // Act + Assert: lists hold only the first company.
    let (status, sessions) = get_as(&app, VIEWER, "/api/sync/sessions").await;
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(companies_of(&sessions, "sessions"), BTreeSet::from([first.to_string()]));
    let (_, changes) = get_as(&app, VIEWER, "/api/changes").await;
    assert_eq!(companies_of(&changes, "changes"), BTreeSet::from([first.to_string()]));
    assert_eq!(changes["changes"].as_array().unwrap().len(), 3, "{changes}");
    let (_, all) = get_as(&app, API_TOKEN, "/api/changes").await;
    assert_eq!(all["changes"].as_array().unwrap().len(), 6, "the unscoped token sees both: {all}");
    // The one company it sees is "the only one".
    let (status, own) = get_as(&app, VIEWER, "/api/sync/status").await;
    assert_eq!((status, &own["last_session"]["id"]), (200, &mine["id"]), "{own}");
    let (status, stats) = get_as(&app, VIEWER, "/api/stats").await;
    assert_eq!((status, stats["employees"].as_u64()), (200, Some(12)), "{stats}");

    // The other company, and anything of it, is 404 as if it did not exist.
    for path in [
        format!("/api/sync/sessions/{other_id}"),
        format!("/api/sync/sessions/{other_id}/events"),
        format!("/api/sync/status?company_id={second}"),
        format!("/api/stats?company_id={second}"),
        format!("/api/sync/sessions?company_id={second}"),
        format!("/api/changes?company_id={second}"),
        format!("/api/issues?company_id={second}"),
    ] {
        let (status, body) = get_as(&app, VIEWER, &path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}: {body}");
        let unknown = path.replace(&second.to_string(), &Uuid::new_v4().to_string());
        let unknown = unknown.replace(other_id, &Uuid::new_v4().to_string());
        let (_, body_unknown) = get_as(&app, VIEWER, &unknown).await;
        assert_eq!(body["message"], body_unknown["message"], "{path}: the same answer as for an unknown id");
    }

    // A viewer may not ask for a sync, not even of its own company.
    for body in [None, Some(json!({ "company_id": first }))] {
        let (status, refused) = call(&app, VIEWER, reqwest::Method::POST, "/api/sync", body).await;
        assert_eq!((status, refused["error"].as_str()), (403, Some("forbidden")), "{refused}");
    }
    let queued = count(&app, "SELECT count(*) FROM sync_sessions").await;
    assert_eq!(queued, 2, "nothing was queued by the refused requests");
    app.stop().await;
}

#[tokio::test]
async fn an_operator_triggers_its_own_company_and_one_outside_its_scope_is_unknown() {
    // Arrange
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);

    // Act
    let (outside, refused) =
        call(&app, SCOPED_OPERATOR, reqwest::Method::POST, "/api/sync", Some(json!({ "company_id": first }))).await;
    let (status, requested) = call(&app, SCOPED_OPERATOR, reqwest::Method::POST, "/api/sync", None).await;

    // Assert: outside the scope = unknown; without company_id = the only company it sees.
    assert_eq!((outside, refused["error"].as_str()), (404, Some("not_found")), "{refused}");
    assert_eq!(status, 202, "{requested}");
    let session = app.wait_for_session(requested["session_id"].as_str().unwrap()).await;
    assert_eq!(
        (session["company_id"].as_str(), session["status"].as_str()),
        (Some(&*second.to_string()), Some("completed"))
    );
    assert_eq!((session["source"].as_str(), session["triggered_by"].as_str()), (Some("api"), Some("op")));
    assert_eq!(count(&app, &format!("SELECT count(*) FROM sync_sessions WHERE company_id = '{first}'")).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn jwt_claims_set_the_role_and_the_companies_and_a_bad_role_is_not_signed_in() {
    // Arrange
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);
    let viewer = jwt(json!({ "email": "vera@example.com", "role": "viewer" }));
    let scoped = jwt(json!({ "email": "otto@example.com", "companies": [second] }));
    let bad_role = jwt(json!({ "email": "eve@example.com", "role": "root" }));

    // Act
    let (viewer_sync, _) =
        call(&app, &viewer, reqwest::Method::POST, "/api/sync", Some(json!({ "company_id": first }))).await;
    let (viewer_read, _) = get_as(&app, &viewer, &format!("/api/sync/status?company_id={second}")).await;
    let (scoped_other, _) = get_as(&app, &scoped, &format!("/api/stats?company_id={first}")).await;
    let (scoped_sync, requested) = call(&app, &scoped, reqwest::Method::POST, "/api/sync", None).await;
    let (bad, body) = get_as(&app, &bad_role, "/api/sync/sessions").await;

    // Assert: a viewer of all reads any company; no role claim = operator; `companies` scopes.
    assert_eq!((viewer_sync, viewer_read, scoped_other), (403, 200, 404));
    assert_eq!(scoped_sync, 202, "{requested}");
    let session = app.wait_for_session(requested["session_id"].as_str().unwrap()).await;
    assert_eq!(
        (session["company_id"].as_str(), session["source"].as_str(), session["triggered_by"].as_str()),
        (Some(&*second.to_string()), Some("manual"), Some("otto@example.com"))
    );
    assert_eq!((bad, body["error"].as_str()), (401, Some("unauthorized")), "{body}");
    app.stop().await;
}

/// Every item of a list, page by page (`limit` per page); also checks each page's size.
async fn walk(app: &TestApp, path: &str, key: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = app.get_json(&url).await;
        let got = page[key].as_array().unwrap();
        assert!(got.len() <= limit, "{url}: {page}");
        items.extend(got.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(got.len(), limit, "only a full page has a next one: {page}");
                cursor = Some(next.to_string());
            }
            None => return items,
        }
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn lists_page_by_cursor_in_their_order_without_repeats_and_csv_exports_every_change() {
    // Arrange: four sessions over two companies, six changes.
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);
    for c in [first, second, first, second] {
        app.sync_and_wait(Some(json!({ "company_id": c }))).await;
    }

    // Act
    let whole_sessions = app.get_json("/api/sync/sessions?limit=500").await;
    let paged_sessions = walk(&app, "/api/sync/sessions", "sessions", 1).await;
    let whole_changes = app.get_json("/api/changes?limit=500").await;
    let paged_changes = walk(&app, "/api/changes", "changes", 4).await;
    let paged_filtered = walk(&app, &format!("/api/changes?company_id={second}"), "changes", 2).await;
    let csv = app.get(&format!("/api/changes?format=csv&company_id={first}")).await;
    let csv_type = csv.headers()["content-type"].to_str().unwrap().to_string();
    let csv_text = csv.text().await.unwrap();
    let viewer_csv = reply_text(&app, VIEWER, "/api/changes?format=csv").await;
    let (bad_cursor, body) = get_as(&app, API_TOKEN, "/api/changes?cursor=bm9wZQ").await;

    // Assert: the pages, joined, are the whole list in its order.
    assert_eq!(whole_sessions["next_cursor"], Value::Null);
    assert_eq!(ids(&paged_sessions), ids(whole_sessions["sessions"].as_array().unwrap()));
    assert_eq!(paged_sessions.len(), 4);
    assert_eq!(ids(&paged_changes), ids(whole_changes["changes"].as_array().unwrap()));
    assert_eq!(paged_changes.len(), 6);
    assert_eq!(companies_of(&json!({ "c": paged_filtered }), "c"), BTreeSet::from([second.to_string()]));
    assert_eq!(paged_filtered.len(), 3);
    assert_eq!((bad_cursor, body["error"].as_str()), (400, Some("bad_request")), "{body}");

    // CSV: a header row, then the first company's changes, newest first, as the JSON list has them.
    assert_eq!(csv_type, "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv_text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("id,company_id,employee_id,employee_name,change_type,field,old_value,new_value"));
    let json_first: Vec<String> =
        ids(app.get_json(&format!("/api/changes?company_id={first}")).await["changes"].as_array().unwrap());
    let csv_ids: Vec<String> = lines[1..].iter().map(|l| l.split(',').next().unwrap().to_string()).collect();
    assert_eq!(csv_ids, json_first);
    assert!(lines[1..].iter().all(|l| l.split(',').nth(1) == Some(&*first.to_string())), "{csv_text}");
    let viewer_rows = viewer_csv.split("\r\n").filter(|l| !l.is_empty()).count() - 1;
    assert_eq!(viewer_rows, 3, "the viewer's export holds only its company: {viewer_csv}");
    app.stop().await;
}

async fn reply_text(app: &TestApp, token: &str, path: &str) -> String {
    let resp = app.http.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

#[tokio::test]
async fn get_me_names_the_callers_role_and_companies_for_tokens_and_jwts() {
    // Arrange
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let first = env.companies[0];
    let admin_jwt = jwt(json!({ "email": "hr@example.com", "role": "admin" }));

    // Act
    let (status, viewer) = get_as(&app, VIEWER, "/api/me").await;
    let (_, operator) = get_as(&app, API_TOKEN, "/api/me").await;
    let (_, admin) = get_as(&app, &admin_jwt, "/api/me").await;
    let (anonymous, _) = get_as(&app, "not-a-token-at-all-0123", "/api/me").await;

    // Assert
    assert_eq!(status, 200, "{viewer}");
    assert_eq!(viewer, json!({ "name": "viewer", "source": "api", "role": "viewer", "companies": [first] }));
    assert_eq!(operator, json!({ "name": "ci", "source": "api", "role": "operator", "companies": null }));
    assert_eq!(admin, json!({ "name": "hr@example.com", "source": "manual", "role": "admin", "companies": null }));
    assert_eq!(anonymous, 401);
}

/// The `data:` of each Server-Sent Event until `done` says enough (or 60 s passed).
async fn sse_until(resp: reqwest::Response, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let (mut out, mut buf, mut resp) = (Vec::new(), String::new(), resp);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done(&out) {
        let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline.into(), resp.chunk()).await else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            out.extend(
                frame.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| serde_json::from_str(d.trim()).unwrap()),
            );
        }
    }
    out
}

#[tokio::test]
async fn the_activity_stream_announces_each_session_of_the_callers_companies_starting_and_ending() {
    // Arrange: the viewer sees only the first company; its stream is open before either sync.
    let mut env = two_companies().await;
    let app = env.spawn_app().await;
    let (first, second) = (env.companies[0], env.companies[1]);
    let resp = app.http.get(app.url("/api/sync/activity")).bearer_auth(VIEWER).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let (status, hidden) = get_as(&app, VIEWER, &format!("/api/sync/activity?company_id={second}")).await;
    assert_eq!(status, 404, "{hidden}");

    // Act: the other company's sync, then the viewer's.
    let other = app.sync_and_wait(Some(json!({ "company_id": second }))).await;
    let mine = app.sync_and_wait(Some(json!({ "company_id": first }))).await;
    let seen = sse_until(resp, |events| events.iter().any(|e| e["status"] == "completed")).await;

    // Assert: the viewer's session, running then completed; nothing of the other company.
    assert_eq!(
        seen,
        [
            json!({ "session_id": mine["id"], "company_id": first, "status": "running" }),
            json!({ "session_id": mine["id"], "company_id": first, "status": "completed" }),
        ],
        "other company's session {} must not show",
        other["id"]
    );
}
