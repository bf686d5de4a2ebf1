//! Reliability under real faults: the `employes-sync` binary as a child process killed at exact
//! moments, a real `nats-server` and a real Postgres stopped mid-sync, a misbehaving Employes
//! simulator, graceful shutdown, load, and what the logs may never contain.
//!
//! One file per fault family; the checks they share are here.

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
use tokio::io::AsyncWriteExt as _;

use crate::helpers::*;

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
    let every = Duration::from_millis(200);
    let caught_up = testkit::poll::poll(Duration::from_secs(15), every, async || &published_ids(app).await == expected);
    if caught_up.await.is_err() {
        assert_eq!(&published_ids(app).await, expected, "published change events");
    }
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
