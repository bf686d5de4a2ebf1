//! The authenticated API: auth, sync requests, read endpoints, SSE, CORS, health, scheduler.

use std::time::{Duration, Instant};

use employes_sync::cli::Role;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

fn jwt(email: &str, exp_offset: i64, secret: &str) -> String {
    let claims = json!({"email": email, "exp": chrono::Utc::now().timestamp() + exp_offset});
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn b64(v: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

async fn post_sync(app: &TestApp, token: Option<&str>, content_type: Option<&str>, body: Option<&str>) -> (u16, Value) {
    let mut req = app.http.post(app.url("/api/sync"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_jwt_user_is_recorded_as_a_manual_trigger_and_an_api_token_by_its_name() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let token = jwt("hr.admin@example.nl", 600, JWT_SECRET);
    let (status, body) = post_sync(&app, Some(&token), None, None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "queued");
    assert_eq!(body["coalesced"], false);
    let s = app.get_json(&format!("/api/sync/sessions/{}", body["session_id"].as_str().unwrap())).await;
    assert_eq!((s["source"].as_str(), s["triggered_by"].as_str()), (Some("manual"), Some("hr.admin@example.nl")));
    // A second full request while the first is queued joins it.
    let (status, again) = post_sync(&app, Some(API_TOKEN), None, None).await;
    assert_eq!(status, 202);
    assert_eq!((again["session_id"].clone(), again["coalesced"].clone()), (body["session_id"].clone(), json!(true)));
    app.stop().await;
}

/// (name, token, content type, body, expected status)
type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, u16);

#[tokio::test]
async fn bad_credentials_and_bad_bodies_are_refused_and_create_nothing() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let header_none = b64(&json!({"alg": "none", "typ": "JWT"}));
    let header_rs = b64(&json!({"alg": "RS256", "typ": "JWT"}));
    let payload = b64(&json!({"email": "evil@example.nl", "exp": chrono::Utc::now().timestamp() + 600}));
    let alg_none = format!("{header_none}.{payload}.");
    let alg_rs256 = format!("{header_rs}.{payload}.c2lnbmF0dXJl");
    let expired = jwt("hr@example.nl", -3600, JWT_SECRET);
    let wrong_secret = jwt("hr@example.nl", 600, "some-other-secret-entirely");
    let too_many: Vec<String> = (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let too_many = json!({"employee_ids": too_many}).to_string();
    let json_ct = Some("application/json");
    let huge = format!("{{\"employee_ids\": [{}]}}", vec!["\"0b7d7c8e-1111-4222-8333-944455556666\""; 2000].join(","));
    let cases: Vec<Case> = vec![
        ("no token", None, None, None, 401),
        ("wrong token", Some("not-a-real-token-at-all"), None, None, 401),
        ("expired JWT", Some(&expired), None, None, 401),
        ("JWT alg none", Some(&alg_none), None, None, 401),
        ("JWT RS256", Some(&alg_rs256), None, None, 401),
        ("JWT wrong secret", Some(&wrong_secret), None, None, 401),
        ("malformed body", Some(API_TOKEN), json_ct, Some("{\"employee_ids\": ["), 400),
        ("unknown field", Some(API_TOKEN), json_ct, Some(r#"{"triggered_by": "someone else"}"#), 400),
        ("too many employee ids", Some(API_TOKEN), json_ct, Some(&too_many), 400),
        ("empty employee ids", Some(API_TOKEN), json_ct, Some(r#"{"employee_ids": []}"#), 400),
        ("ids not UUIDs", Some(API_TOKEN), json_ct, Some(r#"{"employee_ids": ["abc"]}"#), 400),
        ("body not an object", Some(API_TOKEN), json_ct, Some("[1]"), 400),
        ("an array a struct could be read from", Some(API_TOKEN), json_ct, Some("[null, null]"), 400),
        (
            "an unknown company",
            Some(API_TOKEN),
            json_ct,
            Some(r#"{"company_id": "0b7d7c8e-1111-4222-8333-944455556666"}"#),
            404,
        ),
        ("a company id that is not a UUID", Some(API_TOKEN), json_ct, Some(r#"{"company_id": "acme"}"#), 400),
        ("a JSON null body (leave it out instead)", Some(API_TOKEN), json_ct, Some("null"), 400),
        ("not JSON", Some(API_TOKEN), Some("text/plain"), Some("employee_ids=1"), 415),
        ("body over 64 KiB", Some(API_TOKEN), json_ct, Some(&huge), 413),
    ];
    for (name, token, ct, body, expected) in cases {
        let (status, resp) = post_sync(&app, token, ct, body).await;
        assert_eq!(status, expected, "{name}: {resp}");
        assert!(resp["error"].is_string() && resp["message"].is_string(), "{name}: {resp}");
    }
    let sessions = count(&app, "SELECT count(*) FROM sync_sessions").await;
    assert_eq!(sessions, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_idempotency_key_returns_the_same_session() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let send = || {
        app.http
            .post(app.url("/api/sync"))
            .bearer_auth(API_TOKEN)
            .header("idempotency-key", "click-42")
            .json(&json!({"employee_ids": ["0b7d7c8e-1111-4222-8333-944455556666"]}))
            .send()
    };
    let a: Value = send().await.unwrap().json().await.unwrap();
    let b: Value = send().await.unwrap().json().await.unwrap();
    assert_eq!(a["session_id"], b["session_id"]);
    let sessions = count(&app, "SELECT count(*) FROM sync_sessions").await;
    assert_eq!(sessions, 1);
    app.stop().await;
}

#[tokio::test]
async fn read_endpoints_validate_their_input() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    for (path, expected) in [
        ("/api/sync/sessions?limit=0", 400),
        ("/api/sync/sessions?limit=1000", 400),
        ("/api/sync/sessions?limit=abc", 400),
        ("/api/sync/sessions?source=cron", 400),
        ("/api/sync/sessions?status=done", 400),
        ("/api/sync/sessions?bogus=1", 400),
        ("/api/sync/sessions/not-a-uuid", 400),
        ("/api/sync/sessions/0b7d7c8e-1111-4222-8333-944455556666", 404),
        ("/api/sync/sessions/0b7d7c8e-1111-4222-8333-944455556666/events", 404),
        ("/api/changes?since=yesterday", 400),
        ("/api/changes?type=raise", 400),
        ("/api/changes?employee_id=12", 400),
        ("/api/changes?limit=100000", 400),
        ("/api/sync/sessions?source=webhook&status=failed&limit=5", 200),
        ("/api/changes?since=2026-01-01T00:00:00Z&type=salary_change&limit=5", 200),
    ] {
        let resp = app.get(path).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{path}: {body}");
        if expected != 200 {
            assert!(body["error"].is_string(), "{path}: {body}");
        }
    }
    let unknown = app.get("/api/nothing-here").await;
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "not_found");
    for path in ["/api/sync/status", "/api/sync/sessions", "/api/changes", "/api/stats"] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 401, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn status_goes_from_never_to_current_and_stats_and_history_follow() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let before = app.get_json("/api/sync/status").await;
    assert_eq!(before["status"], "never");
    assert!(before["last_session"].is_null());
    assert!(before["next_scheduled_at"].is_null(), "scheduler is off in tests");
    let s = app.sync_and_wait(None).await;
    let after = app.get_json("/api/sync/status").await;
    assert_eq!(after["status"], "current");
    assert_eq!(after["last_session"]["id"], s["id"]);
    assert!(after["last_success_at"].is_string());
    let stats = app.get_json("/api/stats").await;
    assert_eq!(
        stats,
        json!({"employees": 110, "employees_with_history": 99, "changes_total": 3, "changes_24h": 3, "errors_total": 0, "sessions_total": 1, "success_rate": 1.0})
    );
    let list = app.get_json("/api/sync/sessions?limit=5").await;
    let first = &list["sessions"][0];
    assert_eq!(first["id"], s["id"]);
    assert_eq!(first["stages"].as_array().unwrap().len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn status_reports_outdated_and_error() {
    let mut env = TestEnv::new().await;
    env.set("SYNC_OUTDATED_AFTER", "1s").set("EMPLOYES_MAX_ATTEMPTS", "1");
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get_json("/api/sync/status").await["status"], "outdated");
    app.sim.faults(json!({"error_rate": 1.0, "endpoints": ["list"]})).await;
    app.sync_and_wait(None).await;
    assert_eq!(app.get_json("/api/sync/status").await["status"], "error");
    app.stop().await;
}

/// Read an SSE response until it ends; returns the `data:` payloads.
async fn read_sse(resp: reqwest::Response) -> Vec<Value> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut resp = resp;
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline.into(), resp.chunk()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data:") {
                    out.push(serde_json::from_str(data.trim()).unwrap());
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn sse_replays_earlier_progress_then_streams_live_and_ends_with_the_session() {
    // Arrange: a slower simulator so the sync is still running when the client connects.
    let mut env = TestEnv::with_sim(employes_sync::simulator::SimConfig {
        rate_limit: 1000,
        latency_ms: 15,
        ..Default::default()
    })
    .await;
    env.set("WORKER_FETCH_CONCURRENCY", "1");
    let app = env.spawn_app().await;
    let (_, requested) = app.request_sync(None).await;
    let id = requested["session_id"].as_str().unwrap().to_string();
    poll_json(&app, &format!("/api/sync/sessions/{id}"), Duration::from_secs(30), |s| {
        s["stages"][1]["status"] == "running"
    })
    .await;
    // Act: connect mid-sync.
    let resp = app.get(&format!("/api/sync/sessions/{id}/events")).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let live = read_sse(resp).await;
    // Assert: the earlier snapshot events were replayed, then history and changes, then the end.
    let stages: Vec<&str> = live.iter().map(|e| e["stage"].as_str().unwrap()).collect();
    assert_eq!(stages.first(), Some(&"snapshot"));
    assert!(stages.contains(&"history") && stages.contains(&"changes"));
    assert_eq!(live.last().unwrap()["stage"], "session");
    assert_eq!(live.last().unwrap()["status"], "completed");
    // A client connecting after the end gets the full replay.
    let replay = read_sse(app.get(&format!("/api/sync/sessions/{id}/events")).await).await;
    assert_eq!(replay, live);
    assert_eq!(replay, progress_events(&app, &id).await);
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins_and_preflight_triggers_nothing() {
    let mut env = TestEnv::new().await;
    env.set("CORS_ORIGINS", "https://hr.example.nl");
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/sync"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let ok = preflight("https://hr.example.nl").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://hr.example.nl");
    let methods = ok.headers()["access-control-allow-methods"].to_str().unwrap().to_string();
    assert!(methods.contains("POST") && methods.contains("GET"), "{methods}");
    assert!(ok.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let denied = preflight("https://evil.example.com").await.unwrap();
    assert!(denied.headers().get("access-control-allow-origin").is_none());
    let get = app
        .http
        .get(app.url("/api/stats"))
        .bearer_auth(API_TOKEN)
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(get.headers().get("access-control-allow-origin").is_none());
    // CORS is for the browser API only: health and webhook intake never grant it.
    for path in ["/healthz", "/webhooks/employes"] {
        let r = app.http.get(app.url(path)).header("origin", "https://hr.example.nl").send().await.unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{path}");
    }
    let sessions = count(&app, "SELECT count(*) FROM sync_sessions").await;
    assert_eq!(sessions, 0);
    app.stop().await;
}

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let health = app.http.get(app.url("/healthz")).header("x-request-id", "req-123").send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.headers()["x-request-id"], "req-123");
    // A request without one gets a fresh UUID, also on a 404 and on a webhook answer.
    let mut ids = std::collections::HashSet::new();
    for path in ["/healthz", "/healthz", "/no/such/route", "/webhooks/employes"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{path}: {id}");
        assert!(ids.insert(id), "{path}: request ids repeat");
    }
    assert_eq!(app.http.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1500)).await; // one outbox sweep (every 1 s in tests)
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in [
        "employes_sync_sessions_total",
        "employes_sync_stage_duration_seconds",
        "employes_sync_employes_requests_total",
        "employes_sync_changes_total",
        "employes_sync_outbox_pending",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
    // NATS down → readyz names it.
    env.nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resp = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["down"], json!(["nats"]));
    env.nats.restart();
    app.stop().await;
}

#[tokio::test]
async fn two_instances_with_a_one_second_schedule_make_exactly_one_session_per_slot() {
    let mut env = TestEnv::new().await;
    env.set("SYNC_SCHEDULE", "* * * * * *");
    let a = env.spawn_app().await;
    let b = env.spawn_app().await;
    tokio::time::sleep(Duration::from_millis(4500)).await;
    a.stop().await;
    b.stop().await;
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    let slots: Vec<(chrono::DateTime<chrono::Utc>, Option<uuid::Uuid>)> =
        sqlx::query_as("SELECT slot, session_id FROM schedule_slots ORDER BY slot").fetch_all(&db).await.unwrap();
    assert!(slots.len() >= 3, "{} slots", slots.len());
    assert!(slots.iter().all(|(_, s)| s.is_some()), "{slots:?}");
    // Each scheduler session belongs to at least one slot, and no slot made two sessions.
    let scheduler_sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_sessions WHERE source = 'scheduler'")
        .fetch_one(&db)
        .await
        .unwrap();
    let distinct: std::collections::BTreeSet<_> = slots.iter().filter_map(|(_, s)| *s).collect();
    assert_eq!(scheduler_sessions as usize, distinct.len());
    // Both replicas fired every slot; each slot still made one request, so sessions ≤ slots.
    assert!(distinct.len() <= slots.len());
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let doc: Value = app.http.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut routes: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "DELETE /api/companies/{id}",
            "DELETE /api/endpoints/{id}",
            "GET /api/asyncapi.yaml",
            "GET /api/audit",
            "GET /api/changes",
            "GET /api/companies",
            "GET /api/companies/{id}",
            "GET /api/employees",
            "GET /api/employees/{id}",
            "GET /api/endpoints",
            "GET /api/endpoints/{id}",
            "GET /api/endpoints/{id}/attempts",
            "GET /api/issues",
            "GET /api/me",
            "GET /api/milestones",
            "GET /api/openapi.json",
            "GET /api/stats",
            "GET /api/sync/activity",
            "GET /api/sync/sessions",
            "GET /api/sync/sessions/{id}",
            "GET /api/sync/sessions/{id}/events",
            "GET /api/sync/status",
            "GET /healthz",
            "GET /metrics",
            "GET /readyz",
            "PATCH /api/companies/{id}",
            "PATCH /api/endpoints/{id}",
            "POST /api/companies",
            "POST /api/companies/{id}/check",
            "POST /api/employees/{id}/erase",
            "POST /api/endpoints",
            "POST /api/endpoints/{id}/replay",
            "POST /api/endpoints/{id}/rotate-secret",
            "POST /api/milestones/{id}/resolve",
            "POST /api/sync",
            "POST /webhooks/employes",
            "POST /webhooks/employes/{company_id}",
        ]
    );
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["SessionView", "ChangeRow", "Stats", "Requested", "ErrorBody", "StatusView", "ProgressEvent"] {
        assert!(schemas.contains_key(name), "{name} missing");
    }
    // The documented session fields are the ones the API returns.
    let session = app.get_json("/api/sync/sessions?limit=1").await;
    assert!(session["sessions"].as_array().unwrap().is_empty());
    let documented = schemas["SessionRow"]["properties"].as_object().unwrap();
    for field in
        ["id", "source", "triggered_by", "scope", "status", "employees_processed", "changes_detected", "errors_count"]
    {
        assert!(documented.contains_key(field), "{field}");
    }
    app.stop().await;
}

#[tokio::test]
async fn an_api_request_whose_body_stalls_gets_408_from_the_request_timeout() {
    let mut env = TestEnv::new().await;
    env.set("HTTP_REQUEST_TIMEOUT", "1s");
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let request = format!(
        "POST /api/sync HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {API_TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: 40\r\n\r\n{{\"employee_ids\":"
    );
    let (answer, took) = stalled_request(app.addr.unwrap(), request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("x-request-id:"), "{answer}");
    assert!(answer.contains(r#""error":"request_timeout""#), "the error JSON, as documented: {answer}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    let sessions = count(&app, "SELECT count(*) FROM sync_sessions").await;
    assert_eq!(sessions, 0);
    app.stop().await;
}
