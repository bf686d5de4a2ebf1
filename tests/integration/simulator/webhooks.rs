//! The signed webhooks it sends after a mutation, and their retries.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use employes_sync::{
    simulator::Simulator,
    webhook_signature::{self, SignedHeaders, WebhookKey},
};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::*;

/// Requests received by the test's webhook endpoint.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// Starts a receiver answering `statuses` in turn (then 204) and recording requests.
async fn receiver(statuses: Vec<u16>) -> (String, Received, CancellationToken) {
    let received: Received = Arc::default();
    let plan = Arc::new(Mutex::new(statuses.into_iter()));
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((rec, plan)): State<(Received, Arc<Mutex<std::vec::IntoIter<u16>>>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    rec.lock().expect("lock").push((headers, body));
                    let code = plan.lock().expect("lock").next().unwrap_or(204);
                    StatusCode::from_u16(code).expect("status")
                },
            ),
        )
        .with_state((received.clone(), plan));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await
    });
    (url, received, stop)
}

/// What the receiver got once it holds `n` requests (or after 10 s, however many it holds).
async fn wait_for(received: &Received, n: usize) -> Vec<(HeaderMap, Bytes)> {
    let every = Duration::from_millis(20);
    let _ =
        testkit::poll::poll(Duration::from_secs(10), every, async || received.lock().expect("lock").len() >= n).await;
    received.lock().expect("lock").clone()
}

/// Whether the delivery verifies against `secret` with the service's verifier (the one the
/// known-answer test pins to the Standard Webhooks example).
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let key = WebhookKey::from_whsec(secret).expect("secret");
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignedHeaders {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    webhook_signature::verify(&[key], signed, body, chrono::Utc::now().timestamp()).is_ok()
}

#[tokio::test]
async fn a_mutation_sends_a_signed_webhook_that_verifies_independently() {
    // Arrange
    let secret = format!("whsec_{}", STANDARD.encode(b"simulator-test-secret-0123456789"));
    let (url, received, stop_receiver) = receiver(vec![]).await;
    let sim =
        Simulator::bind(SimConfig { addr: "127.0.0.1:0".parse().expect("addr"), ..fast_config() }).await.expect("bind");
    sim.set_webhook_target(url, secret.clone().into());
    let sim = SimServer::serve(sim);
    let truth = sim.control.get("/_sim/employees").await;
    let id = truth["employees"][0]["id"].as_str().expect("id").to_string();

    // Act
    let mutation = json!({"kind":"hours","employee_id":id,"hours_per_week":32,"start_date":"2026-02-01"});
    let resp = sim.control.post_raw("/_sim/mutations", &mutation).await;
    assert_eq!(resp.status(), 200);
    let got = wait_for(&received, 1).await;

    // Assert
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert!(verify(&secret, headers, body), "signature does not verify");
    assert!(headers["webhook-id"].to_str().expect("id").starts_with("msg_"));
    assert_eq!(headers["content-type"], "application/json");
    let ts: i64 = headers["webhook-timestamp"].to_str().expect("ts").parse().expect("int");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let event: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(event["type"], "employment.updated");
    assert_eq!(event["data"]["employee_id"], id);
    assert_eq!(event["data"]["company_id"], sim.company.to_string());
    assert!(chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().expect("ts")).is_ok());
    let msg_id = headers["webhook-id"].to_str().expect("id");
    let ours = WebhookKey::from_whsec(&secret).expect("key").sign(msg_id, ts, body);
    assert_eq!(headers["webhook-signature"].to_str().expect("sig"), ours);
    stop_receiver.cancel();
}

#[tokio::test]
async fn a_rejected_webhook_is_retried_with_the_same_id_until_accepted() {
    // Arrange
    let secret = format!("whsec_{}", STANDARD.encode(b"another-secret-for-retries-00000"));
    let (url, received, stop_receiver) = receiver(vec![503, 429]).await;
    let sim =
        start(SimConfig { webhook_url: Some(url), webhook_secret: Some(secret.clone().into()), ..fast_config() }).await;

    // Act
    sim.control("mutations", json!({"kind":"hire"})).await;
    let got = wait_for(&received, 3).await;

    // Assert
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got.iter().map(|(h, _)| h["webhook-id"].to_str().expect("id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert!(got.iter().all(|(h, b)| verify(&secret, h, b)));
    let event: Value = serde_json::from_slice(&got[2].1).expect("json");
    assert_eq!(event["type"], "employee.created");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.lock().expect("lock").len(), 3, "no delivery after a 2xx");
    stop_receiver.cancel();
}

/// Deliveries received at `/hooks/{anything}`: (path, headers, body).
type ByPath = Arc<Mutex<Vec<(String, HeaderMap, Bytes)>>>;

async fn path_receiver() -> (String, ByPath, CancellationToken) {
    let received: ByPath = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hooks/{company}",
            axum::routing::post(
                |State(rec): State<ByPath>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes| async move {
                    rec.lock().expect("lock").push((uri.path().to_string(), headers, body));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let root = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await
    });
    (root, received, stop)
}

#[tokio::test]
async fn the_webhook_url_gets_each_companys_id_and_a_company_secret_signs_its_webhooks() {
    // Arrange
    let shared = format!("whsec_{}", STANDARD.encode(b"the-simulator-wide-secret-000000"));
    let own = format!("whsec_{}", STANDARD.encode(b"the-second-company-own-secret-00"));
    let (root, received, stop_receiver) = path_receiver().await;
    let mut cfg = SimConfig {
        employees: 5,
        with_history: 4,
        webhook_url: Some(format!("{root}/hooks/{{company_id}}")),
        webhook_secret: Some(shared.clone().into()),
        ..fast_config()
    }
    .with_companies(2);
    let [a, b] = [cfg.companies[0].id, cfg.companies[1].id];
    cfg.companies[1].webhook_secret = Some(own.clone().into());
    let sim = start(cfg).await;

    // Act
    sim.server.control.mutate_in(a, json!({"kind": "hire"})).await;
    sim.server.control.mutate_in(b, json!({"kind": "hire"})).await;
    let every = Duration::from_millis(20);
    let _ =
        testkit::poll::poll(Duration::from_secs(10), every, async || received.lock().expect("lock").len() >= 2).await;

    // Assert
    let mut got = received.lock().expect("lock").clone();
    got.sort_by_key(|(path, _, _)| path.ends_with(&b.to_string()));
    assert_eq!(got.len(), 2);
    let (path_a, headers_a, body_a) = &got[0];
    let (path_b, headers_b, body_b) = &got[1];
    assert_eq!(path_a, &format!("/hooks/{a}"));
    assert_eq!(path_b, &format!("/hooks/{b}"));
    assert!(verify(&shared, headers_a, body_a));
    assert!(verify(&own, headers_b, body_b));
    assert!(!verify(&shared, headers_b, body_b), "the company's own secret replaces the shared one");
    let event: Value = serde_json::from_slice(body_b).expect("json");
    assert_eq!(event["data"]["company_id"], b.to_string());
    stop_receiver.cancel();
}
