//! Outbound endpoints against real processes: the app (worker role delivering), a real NATS, the
//! simulator for events, and a local receiver that records what it gets and answers from a script.
//! The delivery tests register endpoints through the library's own writes (announced, as the
//! management API does); `api` and `replay` go through the HTTP routes.

mod api;
mod delivery;
mod guide;
mod receiver;
mod replay;
mod replicas;

use std::time::Duration;

use employes_sync::{
    companies::SecretsKey,
    db::endpoints::{self, NewEndpoint},
    domain::ChangeType,
    endpoints::secrets,
};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use strum::VariantArray as _;
use uuid::Uuid;

pub use self::receiver::{Reply, TestReceiver};
use crate::helpers::*;

/// Every change type: an endpoint of these gets the changes, not the milestone events.
pub fn changes() -> Vec<&'static str> {
    ChangeType::VARIANTS.iter().map(|t| t.as_str()).collect()
}

/// The tests' `SECRETS_KEY`.
pub const SECRETS_KEY: &str = "c2VjcmV0cy1rZXktZm9yLWVuZHBvaW50LXRlc3RzMzI=";

fn key() -> SecretsKey {
    SecretsKey::from_base64(SECRETS_KEY).unwrap()
}

/// Settings every endpoint test needs: a `SECRETS_KEY`, private networks allowed (the receiver
/// is on 127.0.0.1) and a quick retry schedule.
pub fn endpoint_env(env: &mut TestEnv) {
    env.set("SECRETS_KEY", SECRETS_KEY)
        .set("ENDPOINT_ALLOW_PRIVATE_NETWORKS", "true")
        .set("ENDPOINT_RETRY_SCHEDULE", "200ms,200ms,200ms")
        .set("ENDPOINT_TIMEOUT", "2s");
}

/// Register an endpoint (`url`, for `company` or all, of `types` or all); returns its id and secret.
pub async fn register(app: &TestApp, url: &str, company: Option<Uuid>, types: Option<&[&str]>) -> (Uuid, String) {
    let id = Uuid::new_v4();
    let (secret, sealed) = secrets::generate(&key(), id);
    let types: Option<Vec<String>> = types.map(|t| t.iter().map(|s| s.to_string()).collect());
    let new = NewEndpoint { id, url, company_id: company, types: types.as_deref(), description: None, secret: &sealed };
    endpoints::insert(&app.db, &new).await.unwrap();
    employes_sync::endpoints::announce::announce(&app.bus, Some(id)).await;
    (id, secret.expose_secret().to_string())
}

/// A new secret; the old one signs too for 24 h. Returns the new secret.
pub async fn rotate(app: &TestApp, endpoint: Uuid) -> String {
    let (secret, sealed) = secrets::generate(&key(), endpoint);
    let until = chrono::Utc::now() + chrono::Duration::from_std(secrets::OVERLAP).unwrap();
    assert!(endpoints::rotate(&app.db, endpoint, &sealed, until).await.unwrap());
    employes_sync::endpoints::announce::announce(&app.bus, Some(endpoint)).await;
    secret.expose_secret().to_string()
}

/// The endpoint's attempts log (as the API shows it), newest first.
pub async fn attempts(app: &TestApp, endpoint: Uuid) -> Vec<Value> {
    let rows = endpoints::attempts(&app.db, endpoint, None, None, 500).await.unwrap();
    rows.iter().map(|r| serde_json::to_value(r).unwrap()).collect()
}

/// The ids of the events delivered (a 2xx logged), sorted.
pub async fn delivered(app: &TestApp, endpoint: Uuid) -> Vec<String> {
    let mut ids: Vec<String> = attempts(app, endpoint)
        .await
        .iter()
        .filter(|a| a["status"] == "succeeded")
        .map(|a| a["event_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The change ids recorded for a company (of one type, when given), sorted.
pub async fn change_ids(app: &TestApp, company: Uuid, change_type: Option<&str>) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT id::text FROM changes WHERE company_id = $1 AND ($2::text IS NULL OR change_type = $2) ORDER BY id::text",
    )
    .bind(company)
    .bind(change_type)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// Poll the endpoint (as the API shows it) until `done`.
pub async fn wait_endpoint(app: &TestApp, endpoint: Uuid, done: impl Fn(&Value) -> bool) -> Value {
    eventually("the endpoint changes", Duration::from_secs(30), async || {
        let e = serde_json::to_value(endpoints::get(&app.db, endpoint).await.unwrap().unwrap()).unwrap();
        if done(&e) { Ok(e) } else { Err(e.to_string()) }
    })
    .await
}

/// `method path` with `token` (and a JSON body); returns (status, JSON body or null).
pub async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    reply(req.send().await.unwrap()).await
}

/// Register an endpoint through `POST /api/endpoints` as the admin token; returns its JSON (with
/// the secret).
pub async fn create(app: &TestApp, body: Value) -> Value {
    let (status, created) = send(app, API_TOKEN, reqwest::Method::POST, "/api/endpoints", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created
}
