//! `API_RATE_LIMIT` per caller and `WEBHOOK_RATE_LIMIT` per sending company: a burst of the
//! rate's size, then 429 `rate_limited` with `Retry-After`; other callers, other companies, the
//! webhooks and the operations routes are not affected.

use std::time::Duration;

use employes_sync::simulator::SimConfig;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{OTHER_TOKEN, limited_app, metric};
use crate::helpers::*;

/// `GET path` as `token` (`None`: without one): status, `Retry-After`, JSON body.
async fn get(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Option<String>, Value) {
    let mut request = app.http.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let resp = request.send().await.unwrap();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let (status, body) = reply(resp).await;
    (status, retry_after, body)
}

#[tokio::test]
async fn a_token_over_api_rate_limit_gets_429_with_retry_after_and_another_token_is_not_affected() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = limited_app(&mut env, &[("API_RATE_LIMIT", "5"), ("WEBHOOK_RATE_LIMIT", "5")]).await;
    // Act: a burst of 5 is served, the 6th is refused.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&app, Some(API_TOKEN), "/api/sync/status").await.0);
    }
    let (status, retry_after, body) = get(&app, Some(API_TOKEN), "/api/sync/status").await;
    // Assert
    assert_eq!(statuses, [200; 5]);
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "rate_limited", "the app's error JSON: {body}");
    assert!(body["message"].as_str().unwrap().contains("retry in 1 s"), "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"), "whole seconds, at least 1");
    // Another token has a rate of its own; the operations routes and webhooks are not limited.
    assert_eq!(get(&app, Some(OTHER_TOKEN), "/api/sync/status").await.0, 200);
    for path in ["/healthz", "/metrics", "/"] {
        for _ in 0..10 {
            assert_eq!(get(&app, None, path).await.0, 200, "{path} is never limited");
        }
    }
    let webhook = Webhook::event("employee.updated", &Uuid::new_v4().to_string());
    assert_eq!(webhook.send(&app).await.0, 202, "webhooks count apart from the API");
    // After Retry-After the token is served again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get(&app, Some(API_TOKEN), "/api/sync/status").await.0, 200);
    assert!(metric(&app, r#"employes_sync_rate_limited_total{family="api"}"#).await >= 1.0);
    app.stop().await;
}

#[tokio::test]
async fn requests_without_a_valid_token_count_against_their_address_and_every_api_route_is_limited() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = limited_app(&mut env, &[("API_RATE_LIMIT", "3")]).await;
    // Act: the documents (no token needed) and a wrong token share the address's rate.
    let first = get(&app, None, "/api/openapi.json").await.0;
    let wrong = get(&app, Some("not-a-token-of-ours-at-all"), "/api/sync/sessions").await.0;
    let second = get(&app, None, "/api/asyncapi.yaml").await.0;
    let (refused, retry_after, body) = get(&app, None, "/api/openapi.json").await;
    // Assert
    assert_eq!((first, wrong, second), (200, 401, 200));
    assert_eq!((refused, retry_after.as_deref()), (429, Some("1")), "{body}");
    assert_eq!(body["error"], "rate_limited");
    // A valid token is a caller of its own, whatever its address did; Swagger UI's pages are not limited.
    assert_eq!(get(&app, Some(API_TOKEN), "/api/sync/sessions").await.0, 200);
    assert_eq!(get(&app, None, "/api/docs/").await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_company_over_webhook_rate_limit_gets_429_with_retry_after_and_another_company_is_not_affected() {
    // Arrange: two companies; webhooks name theirs in `data.company_id`.
    let sim = SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }.with_companies(2);
    let mut env = TestEnv::with_sim(sim).await;
    let (first, second) = (env.companies[0], env.companies[1]);
    let app = limited_app(&mut env, &[("WEBHOOK_RATE_LIMIT", "5"), ("API_RATE_LIMIT", "5")]).await;
    let event = |company: Uuid| {
        let body = json!({"type": "employee.updated", "data": {"company_id": company, "employee_id": Uuid::new_v4()}});
        Webhook::signed(serde_json::to_vec(&body).unwrap())
    };
    // Act
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(event(first).send(&app).await.0);
    }
    let refused = event(first).request(&app.http, &app.webhook_url()).send().await.unwrap();
    let retry_after = refused.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    let (status, body) = reply(refused).await;
    // Assert
    assert_eq!(statuses, [202; 5]);
    assert_eq!((status, retry_after.as_deref()), (429, Some("1")), "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert_eq!(event(second).send(&app).await.0, 202, "another company has a rate of its own");
    // The API's rate is apart from the webhooks'; the refused delivery is not recorded.
    for _ in 0..5 {
        assert_eq!(app.get("/api/sync/sessions").await.status(), 200);
    }
    let refusals = count(&app, "SELECT count(*) FROM webhook_deliveries WHERE reason = 'rate_limited'").await;
    assert_eq!(refusals, 0, "a flood is not turned into as many writes");
    assert!(metric(&app, r#"employes_sync_rate_limited_total{family="webhooks"}"#).await >= 1.0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(event(first).send(&app).await.0, 202, "served again after Retry-After");
    app.stop().await;
}
