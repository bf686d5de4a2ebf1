//! `POST /webhooks/employes`: verification, intake, duplicates and the bad-input table.
//! Deliveries are signed by the service's own signer (testkit's `Webhook`); the signer is pinned
//! independently by the known-answer test of the Standard Webhooks example below.

use std::time::Duration;

use employes_sync::webhook_signature::{self, SignedHeaders, WebhookKey};
use serde_json::json;

use crate::helpers::*;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn the_signer_and_the_verifier_agree_with_the_standard_webhooks_example() {
    // Arrange: the worked example of the Standard Webhooks specification, its secret, message
    // and signature as published (nothing of ours computed them).
    let key = WebhookKey::from_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let (id, ts, body) = ("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
    let expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    // Act
    let signature = key.sign(id, ts, body);
    let headers = SignedHeaders { id: Some(id), timestamp: Some("1614265330"), signature: Some(expected) };
    let verified = webhook_signature::verify(&[key], headers, body, ts);
    // Assert
    assert_eq!(signature, expected);
    assert_eq!(verified, Ok(id));
}

#[tokio::test]
async fn a_signed_webhook_leads_to_a_targeted_sync_and_a_recorded_change_and_its_repeat_is_a_duplicate() {
    // Arrange: a first sync, then a change upstream (the simulator's own webhook is off).
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(7).await;
    app.sim
        .mutate(json!({"kind": "hours", "employee_id": employee, "hours_per_week": 12, "start_date": "2026-12-01"}))
        .await;
    // Act
    let delivery = Webhook::event("employment.updated", &employee);
    let (status, body) = delivery.send(&app).await;
    // Assert
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["accepted"], true);
    assert_eq!(body["event_id"], delivery.id.as_str());
    let session = app.wait_for_session(&app.webhook_session(&delivery.id).await).await;
    assert_eq!(session["source"], "webhook");
    assert_eq!(session["triggered_by"], "employes");
    assert_eq!(session["scope"], "employees");
    assert_eq!(session["changes_detected"], 1, "{session}");
    let changes = app.get_json(&format!("/api/changes?employee_id={employee}&type=hours_change")).await;
    assert_eq!(changes["changes"].as_array().unwrap().len(), 1);
    // The same delivery again: 200 duplicate, no new session, nothing published.
    let sessions_before = count(&app, "SELECT count(*) FROM sync_sessions").await;
    let messages_before = queued_requests(&app).await;
    let (status, body) = delivery.send(&app).await;
    assert_eq!((status, body), (200, json!({"duplicate": true})));
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, sessions_before);
    assert_eq!(queued_requests(&app).await, messages_before);
    app.stop().await;
}

#[tokio::test]
async fn a_simulator_mutation_sends_a_webhook_that_the_service_verifies_and_syncs() {
    // Arrange: the simulator signs with its own implementation and posts to the app.
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(3).await;
    // Act
    app.sim.mutate(json!({"kind": "contract", "employee_id": employee, "contract_duration": "fixed", "start_date": "2027-01-01", "end_date": "2027-12-31"})).await;
    // Assert: a webhook session appears and records the contract change.
    let change = eventually("a webhook-driven change recorded", Duration::from_secs(20), async || {
        let changes = app.get_json(&format!("/api/changes?employee_id={employee}&type=contract_change")).await;
        changes["changes"].as_array().unwrap().first().cloned()
    })
    .await;
    let s = app.get_json(&format!("/api/sync/sessions/{}", change["session_id"].as_str().unwrap())).await;
    assert_eq!(s["source"], "webhook");
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'accepted'").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn unknown_event_types_are_accepted_ignored_and_recorded() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let (status, body) = Webhook::event("payrun.finished", "0b7d7c8e-1111-4222-8333-944455556666").send(&app).await;
    assert_eq!(status, 202);
    assert_eq!(body["ignored"], true);
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'ignored'").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 0);
    assert_eq!(queued_requests(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_company_sync_request_starts_a_full_sync() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let d = Webhook::signed(
        serde_json::to_vec(&json!({"type": "company.sync_requested", "timestamp": "2026-11-25T10:00:00Z", "data": {}}))
            .unwrap(),
    );
    let (status, body) = d.send(&app).await;
    assert_eq!(status, 202, "{body}");
    let s = app.wait_for_session(&app.webhook_session(&d.id).await).await;
    assert_eq!((s["scope"].as_str(), s["employees_processed"].as_i64()), (Some("full"), Some(110)));
    app.stop().await;
}

#[tokio::test]
async fn both_the_old_and_the_new_secret_pass_during_rotation() {
    let mut env = TestEnv::new().await;
    let new_secret = "whsec_bmV3LXJvdGF0ZWQtc2VjcmV0LWtleS0wMQ==";
    env.set("WEBHOOK_SECRET", &format!("{WEBHOOK_SECRET} {new_secret}"));
    let app = env.spawn_app().await;
    let employee = "0b7d7c8e-1111-4222-8333-944455556666";
    let old = Webhook::event("employee.updated", employee);
    assert_eq!(old.send(&app).await.0, 202);
    let mut new = Webhook::event("employee.updated", employee);
    new.sign_with(&WebhookKey::from_whsec(new_secret).unwrap());
    assert_eq!(new.send(&app).await.0, 202);
    app.stop().await;
}

#[tokio::test]
async fn webhooks_answer_503_when_no_secret_is_configured() {
    let mut env = TestEnv::new().await;
    env.settings.remove("WEBHOOK_SECRET");
    let app = env.spawn_app().await;
    let (status, body) = Webhook::event("employee.updated", "0b7d7c8e-1111-4222-8333-944455556666").send(&app).await;
    assert_eq!(status, 503);
    assert_eq!(body["message"], "webhooks not configured");
    app.stop().await;
}

#[tokio::test]
async fn every_bad_delivery_is_rejected_recorded_and_publishes_nothing() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let employee = "0b7d7c8e-1111-4222-8333-944455556666";
    let valid = || {
        serde_json::to_vec(&json!({"type": "employee.updated", "timestamp": "2026-11-25T10:00:00Z", "data": {"employee_id": employee}})).unwrap()
    };
    let mut cases: Vec<(&str, Webhook, u16)> = Vec::new();
    for h in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut d = Webhook::signed(valid());
        d.omit = Some(h);
        cases.push((h, d, 401));
    }
    let mut d = Webhook::signed(valid());
    d.signature = String::new();
    cases.push(("empty signature", d, 401));
    let mut d = Webhook::signed(valid());
    d.signature = "v1,@@not-base64@@".into();
    cases.push(("bad base64", d, 401));
    let mut d = Webhook::signed(valid());
    d.sign_with(&WebhookKey::new(b"some-other-secret-key"));
    cases.push(("wrong secret", d, 401));
    let mut d = Webhook::signed(valid());
    d.signature = d.signature.replacen("v1,", "v2,", 1);
    cases.push(("v2 only", d, 401));
    let mut d = Webhook::signed(valid());
    d.body = br#"{"type":"employee.updated","data":{"employee_id":"11111111-1111-4111-8111-111111111111"}}"#.to_vec();
    cases.push(("signature over a different body", d, 401));
    let mut d = Webhook::signed(valid());
    d.ts = (now() - 360).to_string();
    cases.push(("timestamp 6 min old", d.resigned(), 401));
    let mut d = Webhook::signed(valid());
    d.ts = (now() + 360).to_string();
    cases.push(("timestamp 6 min ahead", d.resigned(), 401));
    let mut d = Webhook::signed(valid());
    d.ts = "yesterday".into();
    cases.push(("timestamp not a number", d.resigned(), 401));
    let mut d = Webhook::signed(valid());
    d.signature = format!("{} v1,AAAA", &d.signature[..20]);
    cases.push(("truncated signature", d, 401));
    let mut d = Webhook::signed(valid());
    d.id = "x".repeat(300);
    cases.push(("overlong webhook-id", d.resigned(), 401));
    cases.push(("empty body", Webhook::signed(Vec::new()), 400));
    let mut big = valid();
    big.extend(std::iter::repeat_n(b' ', 300 * 1024));
    cases.push(("300 KiB body", Webhook::signed(big), 413));
    let mut d = Webhook::signed(valid());
    d.content_type = Some("text/plain");
    cases.push(("wrong content type", d, 415));
    let mut d = Webhook::signed(valid());
    d.content_type = None;
    cases.push(("no content type", d, 415));
    let mut d = Webhook::signed(valid());
    d.content_type = Some("application/x-www-form-urlencoded");
    cases.push(("form content type", d, 415));
    cases.push(("invalid JSON", Webhook::signed(b"{\"type\": ".to_vec()), 400));
    cases.push(("JSON array", Webhook::signed(b"[1,2,3]".to_vec()), 400));
    cases.push(("JSON string", Webhook::signed(b"\"hello\"".to_vec()), 400));
    cases.push((
        "missing type",
        Webhook::signed(br#"{"data":{"employee_id":"0b7d7c8e-1111-4222-8333-944455556666"}}"#.to_vec()),
        400,
    ));
    cases.push(("numeric type", Webhook::signed(br#"{"type":7,"data":{}}"#.to_vec()), 400));
    cases.push(("empty type", Webhook::signed(br#"{"type":"","data":{}}"#.to_vec()), 400));
    cases.push(("NUL in type", Webhook::signed(b"{\"type\":\"employee.updated\\u0000\",\"data\":{}}".to_vec()), 400));
    cases.push((
        "unicode in type",
        Webhook::signed("{\"type\":\"employee.updat\u{e9}d\",\"data\":{}}".as_bytes().to_vec()),
        400,
    ));
    cases.push(("missing employee_id", Webhook::signed(br#"{"type":"employee.updated","data":{}}"#.to_vec()), 400));
    cases.push(("missing data", Webhook::signed(br#"{"type":"employment.created"}"#.to_vec()), 400));
    cases.push((
        "invalid UUID",
        Webhook::signed(br#"{"type":"employee.updated","data":{"employee_id":"not-a-uuid"}}"#.to_vec()),
        400,
    ));
    cases.push((
        "numeric employee_id",
        Webhook::signed(br#"{"type":"employee.updated","data":{"employee_id":12}}"#.to_vec()),
        400,
    ));
    cases.push((
        "NUL in employee_id",
        Webhook::signed(b"{\"type\":\"employee.updated\",\"data\":{\"employee_id\":\"0b7d7c8e\\u0000\"}}".to_vec()),
        400,
    ));
    assert!(cases.len() >= 30, "{} cases", cases.len());

    let n = cases.len() as i64;
    for (name, delivery, expected) in &cases {
        let (status, body) = delivery.send(&app).await;
        assert_eq!(status, *expected, "{name}: {body}");
        assert!(body["error"].is_string() && body["message"].is_string(), "{name}: {body}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'rejected'").await, n);
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries").await, n);
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 0);
    assert_eq!(queued_requests(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn with_nats_down_webhooks_get_503_and_nothing_is_accepted_then_202_when_it_is_back() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let employee = "0b7d7c8e-1111-4222-8333-944455556666";
    // Act: stop NATS.
    env.nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, body) = Webhook::event("employee.updated", employee).send(&app).await;
    // Assert
    assert_eq!(status, 503, "{body}");
    assert_eq!(count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'accepted'").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions WHERE status IN ('queued', 'running')").await, 0);
    // NATS back (same store): the next delivery is accepted.
    env.nats.restart();
    eventually("NATS back: a delivery accepted", Duration::from_secs(15), async || {
        let (status, _) = Webhook::event("employee.updated", employee).send(&app).await;
        assert!(status == 202 || status == 503, "answered {status} while NATS came back");
        status == 202
    })
    .await;
    // Exactly the accepted one is on the durable queue (this app has no worker to admit it).
    assert_eq!(queued_requests(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_webhooks_is_admitted_into_one_targeted_sync() {
    // Arrange: intake only, so the burst waits on the queue until a worker starts.
    let mut env = TestEnv::new().await;
    env.set("WEBHOOK_COALESCE_WINDOW", "5s");
    let intake = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let employees: Vec<String> = (0..5).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let mut deliveries = Vec::new();
    for e in [&employees[0], &employees[0], &employees[0], &employees[1], &employees[2], &employees[3], &employees[4]] {
        let d = Webhook::event("employee.updated", e);
        let (status, body) = d.send(&intake).await;
        assert_eq!((status, &body["event_id"]), (202, &json!(d.id)), "{body}");
        assert!(body.get("session_id").is_none(), "intake creates no session: {body}");
        deliveries.push(d.id);
    }
    assert_eq!(queued_requests(&intake).await, 7);
    assert_eq!(count(&intake, "SELECT count(*) FROM sync_sessions").await, 0);
    // Act: a worker starts.
    let worker = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Worker]).await;
    // Assert: every delivery is recorded once and linked to one session holding the five employees.
    let mut sessions = std::collections::BTreeSet::new();
    for id in &deliveries {
        sessions.insert(intake.webhook_session(id).await);
    }
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = intake.wait_for_session(sessions.first().unwrap()).await;
    assert_eq!((s["source"].as_str(), s["scope"].as_str()), (Some("webhook"), Some("employees")), "{s}");
    let mut ids: Vec<String> =
        s["employee_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    ids.sort();
    let mut expected = employees.clone();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(count(&intake, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'accepted'").await, 7);
    assert_eq!(count(&intake, "SELECT count(*) FROM sync_sessions").await, 1);
    worker.stop().await;
    intake.stop().await;
}

#[tokio::test]
async fn a_webhook_repeated_after_the_duplicate_window_is_dropped_by_the_worker() {
    // Arrange: one webhook admitted and synced.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    let employee = app.sim.employee_id(2).await;
    let delivery = Webhook::event("employee.updated", &employee);
    assert_eq!(delivery.send(&app).await.0, 202);
    let first = app.wait_for_session(&app.webhook_session(&delivery.id).await).await;
    // Act: the same webhook id reaches the queue again, as if JetStream's window had passed.
    let company: uuid::Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();
    let repeat = employes_sync::sync::QueueTask::AdmitWebhook(employes_sync::sync::AdmitWebhook {
        company_id: Some(company),
        webhook_id: delivery.id.clone(),
        event_type: "employee.updated".into(),
        employee_ids: Some(vec![employee.parse().unwrap()]),
        triggered_by: "employes".into(),
        requested_at: chrono::Utc::now(),
    });
    app.bus
        .publish_durable(app.bus.requests_subject(company), None, serde_json::to_vec(&repeat).unwrap().into())
        .await
        .unwrap();
    // Assert: it is consumed, recorded as a duplicate, and starts nothing.
    eventually("the repeat handled", Duration::from_secs(15), async || {
        count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'duplicate'").await > 0
    })
    .await;
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 1, "{first}");
    assert_eq!(queued_requests(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_body_that_stalls_gets_408_is_recorded_and_publishes_nothing() {
    let mut env = TestEnv::new().await;
    env.set("HTTP_REQUEST_TIMEOUT", "1s");
    let app = env.spawn_app().await;
    let d = Webhook::event("employee.updated", "0b7d7c8e-1111-4222-8333-944455556666");
    // Headers and half the body, then nothing.
    let mut request = format!(
        "POST /webhooks/employes HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         webhook-id: {}\r\nwebhook-timestamp: {}\r\nwebhook-signature: {}\r\n\r\n",
        d.body.len(),
        d.id,
        d.ts,
        d.signature
    )
    .into_bytes();
    request.extend_from_slice(&d.body[..d.body.len() / 2]);
    let (answer, took) = stalled_request(app.addr.unwrap(), &request).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""error":"request_timeout""#), "{answer}");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM webhook_deliveries WHERE outcome = 'rejected' AND reason = 'body_timeout'")
            .await,
        1
    );
    assert_eq!(queued_requests(&app).await, 0);
    // The same delivery sent whole is accepted: the stalled one was not taken for it.
    assert_eq!(d.send(&app).await.0, 202);
    app.stop().await;
}

#[tokio::test]
async fn an_unparseable_queued_request_is_terminated_and_the_queue_goes_on() {
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    // Arrange: two messages no worker can use, ahead of a real request (one on the first
    // version's subject, one on the company's).
    let company: uuid::Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();
    let subjects = [app.bus.v1_requests_subject().to_string(), app.bus.requests_subject(company)];
    for (payload, subject) in [&b"not json"[..], br#"{"request_id":"x","session_id":"nope"}"#].into_iter().zip(subjects)
    {
        app.bus.publish_durable(subject, None, payload.to_vec().into()).await.unwrap();
    }
    // Act
    let session = app.sync_and_wait(None).await;
    // Assert: the sync behind them ran; both were taken off the queue (terminated, not
    // redelivered forever) and made no session.
    assert_eq!(session["status"], "completed", "{session}");
    eventually("unparseable requests off the queue", Duration::from_secs(15), async || {
        queued_requests(&app).await == 0
    })
    .await;
    assert_eq!(count(&app, "SELECT count(*) FROM sync_sessions").await, 1);
    eventually("both recorded as dead letters", Duration::from_secs(10), async || dead_letters(&app).await.len() == 2)
        .await;
    app.stop().await;
}
