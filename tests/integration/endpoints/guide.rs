//! The subscriber guide's HTTP examples against real deliveries: `examples/subscriber.rs` serves
//! as an endpoint (verifying, deduplicating by `webhook-id`), and `examples/verify_webhook.py`
//! verifies a captured delivery and refuses a tampered one.

use std::{io::Write as _, path::Path, process::Stdio, time::Duration};

use reqwest::Method as M;
use serde_json::json;
use uuid::Uuid;

use super::*;

#[allow(dead_code)]
#[path = "../../../examples/subscriber.rs"]
mod subscriber;

/// `examples/verify_webhook.py` on one delivery: (exit status 0, what it printed).
fn python_verifies(secret: &str, seen: &receiver::Seen, body: &[u8]) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/verify_webhook.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .env("WEBHOOK_SECRET", secret)
        .env("WEBHOOK_ID", &seen.id)
        .env("WEBHOOK_TIMESTAMP", &seen.timestamp)
        .env("WEBHOOK_SIGNATURE", &seen.signature)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test]
async fn the_guides_rust_receiver_accepts_real_deliveries_and_replays_and_its_python_verifier_checks_one() {
    // Arrange: the example receiver as one endpoint, the recording receiver as another.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let app = env.spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let example_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let example = create(&app, json!({"url": example_url, "types": changes()})).await;
    let example_secret = example["secret"].as_str().unwrap().to_string();
    let receiver = subscriber::Receiver::new(&example_secret).unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver.router()).await.unwrap() });
    let recorder = TestReceiver::start(vec![]).await;
    let recorded = create(&app, json!({"url": recorder.url(), "types": changes()})).await;
    let recorded_secret = recorded["secret"].as_str().unwrap().to_string();
    let example_id: Uuid = example["id"].as_str().unwrap().parse().unwrap();

    // Act: the first sync's three changes, then all of them replayed to the example.
    app.sync_and_wait(None).await;
    let expected = change_ids(&app, env.companies[0], None).await;
    eventually("the example receiver takes every change", Duration::from_secs(30), async || {
        let ids = delivered(&app, example_id).await;
        if ids == expected { Ok(()) } else { Err(format!("{ids:?}")) }
    })
    .await;
    let path = format!("/api/endpoints/{example_id}/replay");
    let (_, queued) = send(&app, API_TOKEN, M::POST, &path, Some(json!({"since": "2020-01-01T00:00:00Z"}))).await;
    assert_eq!(queued, json!({"queued": 3}));

    // Assert: every delivery and every replayed one answered 2xx (verified; the replays are
    // duplicates by webhook-id); a delivery signed for another endpoint is refused with 401.
    eventually("the replayed copies are taken as duplicates", Duration::from_secs(30), async || {
        let log = attempts(&app, example_id).await;
        let ok = log.iter().filter(|a| a["status"] == "succeeded").count();
        if ok == 6 && log.len() == 6 { Ok(()) } else { Err(format!("{log:?}")) }
    })
    .await;
    let captured = recorder.wait_for(3, Duration::from_secs(30)).await;
    let foreign = app
        .http
        .post(&example_url)
        .header("webhook-id", &captured[0].id)
        .header("webhook-timestamp", &captured[0].timestamp)
        .header("webhook-signature", &captured[0].signature)
        .body(captured[0].body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 401, "signed with another endpoint's secret");
    let now = chrono::Utc::now().timestamp();
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in [
        ("webhook-id", &captured[0].id),
        ("webhook-timestamp", &captured[0].timestamp),
        ("webhook-signature", &captured[0].signature),
    ] {
        headers.insert(name, value.parse().unwrap());
    }
    let key = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        recorded_secret.strip_prefix("whsec_").unwrap(),
    )
    .unwrap();
    assert_eq!(subscriber::verify(&key, &headers, &captured[0].body, now), Ok(captured[0].id.clone()));
    assert_eq!(subscriber::verify(&key, &headers, b"{}", now), Err(subscriber::Refused::BadSignature));
    assert_eq!(
        subscriber::verify(&key, &headers, &captured[0].body, now + 600),
        Err(subscriber::Refused::StaleTimestamp)
    );

    // The Python verifier: the real delivery passes; a changed body or another secret does not.
    let python = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !python && std::env::var_os("CONTRACT_TOOLS_REQUIRED").is_none() {
        eprintln!("SKIPPED the Python verifier: no python3 on PATH");
        app.stop().await;
        return;
    }
    let (ok, said) = python_verifies(&recorded_secret, &captured[0], &captured[0].body);
    assert_eq!((ok, said.as_str()), (true, "verified"));
    let mut tampered = captured[0].body.clone();
    tampered.extend_from_slice(b" ");
    assert!(!python_verifies(&recorded_secret, &captured[0], &tampered).0);
    assert!(!python_verifies(&example_secret, &captured[0], &captured[0].body).0);
    app.stop().await;
}
