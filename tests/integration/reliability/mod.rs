//! Reliability under real faults: the `employes-sync` binary as a child process killed at exact
//! moments, a real `nats-server` and a real Postgres stopped mid-sync, a misbehaving Employes
//! simulator, graceful shutdown, load, and what the logs may never contain.
//!
//! One file per fault family; the checks and the webhook sender they share are here.

mod employes_api;
mod limits;
mod load;
mod nats;
mod postgres;
mod secrets;
mod shutdown;
mod worker_kills;

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use employes_sync::{cli::Role, simulator::SimConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{helpers::*, processes::*};

// ---------------------------------------------------------------------------------------------
// Shared checks

fn is_final(s: &Value) -> bool {
    matches!(s["status"].as_str(), Some("completed" | "completed_with_errors" | "failed"))
}

/// Ids of the changes recorded in Postgres.
async fn recorded_ids(app: &TestApp) -> BTreeSet<String> {
    sqlx::query_scalar::<_, String>("SELECT id::text FROM changes")
        .fetch_all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .collect()
}

/// Ids of the change events on the changes stream; fails when any id is there twice.
async fn published_ids(app: &TestApp) -> BTreeSet<String> {
    let events = change_events(app).await;
    let ids: Vec<String> = events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct.len(), ids.len(), "a change was published twice");
    distinct
}

/// Recorded once in Postgres and published once on the stream: exactly `expected`.
async fn assert_changes_exactly_once(app: &TestApp, expected: &BTreeSet<String>) {
    assert_eq!(&recorded_ids(app).await, expected, "recorded changes");
    // The outbox may still be catching up after an outage: poll briefly for the events.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let published = published_ids(app).await;
        if &published == expected || Instant::now() > deadline {
            assert_eq!(&published, expected, "published change events");
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn scalar_i64(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

async fn attempts(app: &TestApp, session: &str) -> i32 {
    sqlx::query_scalar("SELECT attempts FROM sync_sessions WHERE id = $1::uuid")
        .bind(session)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Poll until the session's `stage` has processed at least `n` items.
async fn wait_for_stage(app: &TestApp, session: &str, stage: usize, n: i64) {
    poll_json(app, &format!("/api/sync/sessions/{session}"), Duration::from_secs(30), |s| {
        s["stages"][stage]["status"] == "running" && s["stages"][stage]["processed"].as_i64().unwrap_or(0) >= n
    })
    .await;
}

fn assert_first_sync_counts(s: &Value) {
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(
        (s["employees_processed"].as_i64(), s["history_collected"].as_i64(), s["changes_detected"].as_i64()),
        (Some(110), Some(99), Some(3)),
        "{s}"
    );
}

/// Redelivery and takeover within seconds.
fn quick_takeover(env: &mut TestEnv) {
    env.set("WORKER_ACK_WAIT", "3s").set("WORKER_HEARTBEAT", "1s");
}

// ---------------------------------------------------------------------------------------------
// A webhook sender

/// A Standard Webhooks delivery signed with an independent HMAC (not the production signer).
#[derive(Clone)]
struct Webhook {
    id: String,
    ts: String,
    signature: String,
    body: Vec<u8>,
}

impl Webhook {
    fn employee(kind: &str, employee: &str) -> Webhook {
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let now = chrono::Utc::now().timestamp();
        let body = serde_json::to_vec(&json!({"type": kind, "timestamp": "2026-11-25T10:00:00Z", "data": {"company_id": "x", "employee_id": employee}})).unwrap();
        let signature = reference_sign(WEBHOOK_KEY, &id, now, &body);
        let ts = now.to_string();
        Webhook { id, ts, signature, body }
    }

    /// Deliver once; returns the status and the JSON answer.
    async fn send(&self, app: &TestApp) -> (u16, Value) {
        let resp = app
            .http
            .post(app.url("/webhooks/employes"))
            .header("webhook-id", &self.id)
            .header("webhook-timestamp", &self.ts)
            .header("webhook-signature", &self.signature)
            .header("content-type", "application/json")
            .body(self.body.clone())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Deliver like Employes does: retry 503s until accepted (202) or known (200 duplicate);
    /// any other answer fails the test.
    async fn deliver(&self, app: &TestApp, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.send(app).await;
            match status {
                200 | 202 => return body,
                503 => assert!(Instant::now() < deadline, "still 503: {body}"),
                other => panic!("webhook answered {other}: {body}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One HTTP/1.1 response (with a `content-length` body) read off a raw connection.
async fn read_response(conn: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return text;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-response: {text}");
        buf.extend_from_slice(&chunk[..n]);
    }
}
