//! Webhooks with several companies: the global route routes by `data.company_id` (none named:
//! the only company), the company route verifies with the company's own secrets and refuses a
//! body naming another company; an event for a company this deployment does not serve (unknown,
//! deleted, or none named while there are several) is acknowledged as ignored and recorded —
//! never a 5xx, also after companies are added and deleted through the API.

use employes_sync::{companies::SecretsKey, simulator::SimConfig, webhook_signature::WebhookKey};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

const ADMIN: &str = "admin-token-0123456789";
const SECOND_KEY: &str = "the-second-company-key-0123456789";
/// The second company's own webhook secret.
const OWN_SECRET: &str = "whsec_c2Vjb25kLWNvbXBhbnktd2ViaG9vay1zZWNyZXQ=";

/// A `company.sync_requested` delivery whose `data` is `data`, signed with `WEBHOOK_SECRET`.
fn sync_requested(data: Value) -> Webhook {
    Webhook::signed(serde_json::to_vec(&json!({"type": "company.sync_requested", "data": data})).unwrap())
}

/// POST a delivery to `path` (the global route or a company's).
async fn post(app: &TestApp, path: &str, d: &Webhook) -> (u16, Value) {
    reply(d.request(&app.http, &app.url(path)).send().await.unwrap()).await
}

/// The recorded (outcome, reason, company) of a delivery that was not queued.
async fn recorded(app: &TestApp, d: &Webhook) -> (String, Option<String>, Option<Uuid>) {
    sqlx::query_as("SELECT outcome, reason, company_id FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(&d.id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// The company of the session a queued delivery was admitted into, once that session ended.
async fn synced_company(app: &TestApp, d: &Webhook) -> String {
    let session = app.wait_for_session(&app.webhook_session(&d.id).await).await;
    assert_eq!((session["source"].as_str(), session["status"].as_str()), (Some("webhook"), Some("completed")));
    session["company_id"].as_str().unwrap().to_string()
}

async fn delete(app: &TestApp, company: Uuid) {
    let response = app.http.delete(app.url(&format!("/api/companies/{company}"))).bearer_auth(ADMIN).send().await;
    assert_eq!(response.unwrap().status(), 204);
}

#[tokio::test]
async fn webhooks_reach_the_company_they_name_and_companies_not_served_are_ignored_never_a_server_error() {
    // Arrange: two simulated companies, the first from the environment; the second added
    // through the API with its own key and webhook secret.
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 8, ..SimConfig::default() }.with_companies(2);
    for c in &mut sim.companies {
        (c.employees, c.with_history) = (5, 2);
    }
    sim.companies[1].key = Some(SECOND_KEY.to_string());
    let mut env = TestEnv::with_sim(sim).await;
    env.sim_webhooks = false;
    let (first, second) = (env.companies[0], env.companies[1]);
    env.set("EMPLOYES_COMPANY_ID", &first.to_string());
    env.set("API_TOKENS", &format!("ci:{API_TOKEN},boss:{ADMIN}:admin"));
    env.set("SECRETS_KEY", SecretsKey::generate().to_base64().expose_secret());
    let app = env.spawn_app().await;
    let body = json!({"id": second, "api_key": SECOND_KEY, "schedule": "off", "webhook_secrets": [OWN_SECRET]});
    let added = app.http.post(app.url("/api/companies")).bearer_auth(ADMIN).json(&body).send().await.unwrap();
    assert_eq!(added.status(), 201);
    let global = "/webhooks/employes";
    let (first_path, second_path) = (format!("{global}/{first}"), format!("{global}/{second}"));

    // Act + Assert 1, the global route: each named company gets its sync.
    let to_second = sync_requested(json!({"company_id": second}));
    let to_first = sync_requested(json!({"company_id": first}));
    for d in [&to_second, &to_first] {
        let (status, answer) = post(&app, global, d).await;
        assert_eq!((status, &answer["ignored"]), (202, &Value::Null), "{answer}");
    }
    assert_eq!(synced_company(&app, &to_second).await, second.to_string());
    assert_eq!(synced_company(&app, &to_first).await, first.to_string());
    // None named while there are two, or one this deployment does not serve: ignored, recorded.
    for (data, reason) in [
        (json!({}), "company_required"),
        (json!({"company_id": null}), "company_required"),
        (json!({"company_id": Uuid::new_v4()}), "unknown_company"),
    ] {
        let d = sync_requested(data.clone());
        let (status, answer) = post(&app, global, &d).await;
        assert_eq!((status, &answer["accepted"], &answer["ignored"]), (202, &json!(true), &json!(true)), "{data}");
        assert_eq!(recorded(&app, &d).await, ("ignored".into(), Some(reason.into()), None), "{data}");
    }

    // Act + Assert 2, the company routes: the second company's own secret (and only it) passes
    // there; the first has none, so WEBHOOK_SECRET does.
    let own = WebhookKey::from_whsec(OWN_SECRET).unwrap();
    let mut signed_own = sync_requested(json!({"company_id": second}));
    signed_own.sign_with(&own);
    let (status, answer) = post(&app, &second_path, &signed_own).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(synced_company(&app, &signed_own).await, second.to_string());
    let (status, _) = post(&app, &second_path, &sync_requested(json!({}))).await;
    assert_eq!(status, 401, "WEBHOOK_SECRET does not sign for a company with secrets of its own");
    let (status, _) = post(&app, global, &signed_own.clone().resigned()).await;
    assert_eq!(status, 200, "the same webhook-id again, on the global route: a duplicate");
    let unnamed = sync_requested(json!({}));
    assert_eq!(post(&app, &first_path, &unnamed).await.0, 202);
    assert_eq!(synced_company(&app, &unnamed).await, first.to_string());
    // A body naming another company than the path, or a company id that is no UUID (on either
    // route): 400, recorded as rejected.
    for (path, named, reason) in [
        (first_path.as_str(), json!(second), "company_mismatch"),
        (first_path.as_str(), json!("x"), "malformed"),
        (global, json!("x"), "malformed"),
        (global, json!(7), "malformed"),
    ] {
        let d = sync_requested(json!({"company_id": named}));
        let (status, answer) = post(&app, path, &d).await;
        assert_eq!((status, answer["error"].as_str()), (400, Some("bad_request")), "{path}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("data.company_id"), "{answer}");
        let company = (path != global).then_some(first);
        assert_eq!(recorded(&app, &d).await, ("rejected".into(), Some(reason.into()), company), "{path} {named}");
    }
    let (status, _) = post(&app, &format!("{global}/not-a-uuid"), &sync_requested(json!({}))).await;
    assert_eq!(status, 400);

    // Act + Assert 3: the environment's company deleted (the first version's default company):
    // a webhook naming none is the only company's; one naming the deleted company is ignored.
    delete(&app, first).await;
    let unnamed = sync_requested(json!({}));
    let mut unnamed_own = sync_requested(json!({}));
    unnamed_own.sign_with(&own);
    assert_eq!(post(&app, global, &unnamed).await.0, 202);
    assert_eq!(post(&app, &second_path, &unnamed_own).await.0, 202);
    assert_eq!(synced_company(&app, &unnamed).await, second.to_string());
    assert_eq!(synced_company(&app, &unnamed_own).await, second.to_string());
    for (path, d) in [
        (global, sync_requested(json!({"company_id": first}))),
        (first_path.as_str(), sync_requested(json!({}))),
        (first_path.as_str(), sync_requested(json!({"company_id": first}))),
    ] {
        let (status, answer) = post(&app, path, &d).await;
        assert_eq!((status, &answer["ignored"]), (202, &json!(true)), "{path}: {answer}");
        assert_eq!(recorded(&app, &d).await, ("ignored".into(), Some("unknown_company".into()), None), "{path}");
    }

    // Act + Assert 4: no company left; employee events too are ignored, recorded.
    delete(&app, second).await;
    for (path, d) in [
        (global, Webhook::event("employee.updated", &Uuid::new_v4().to_string())),
        (global, sync_requested(json!({"company_id": second}))),
        (second_path.as_str(), sync_requested(json!({}))),
    ] {
        let (status, answer) = post(&app, path, &d).await;
        assert_eq!((status, &answer["ignored"]), (202, &json!(true)), "{path}: {answer}");
        assert_eq!(recorded(&app, &d).await.0, "ignored", "{path}");
    }
    app.stop().await;
}
