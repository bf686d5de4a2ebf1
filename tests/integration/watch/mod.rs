//! Watching (issue 17): each company is checked every `watch_interval` by an incremental full
//! sync of source `watch`; the tests run with the simulator's webhooks off, so only a watch can
//! see a change.

mod budget;
mod detection;
mod quiet;
mod refresh;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::*;

/// An environment whose simulator sends no webhooks, watched every `interval`.
pub async fn watched(interval: &str) -> TestEnv {
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    env.set("WATCH_INTERVAL", interval);
    env
}

/// The sessions of a source, oldest first (from the database: the API hides quiet watches).
pub async fn sessions_of(app: &TestApp, source: &str) -> Vec<(String, String, i32)> {
    sqlx::query_as(
        "SELECT id::text, status, changes_detected FROM sync_sessions WHERE source = $1 ORDER BY requested_at",
    )
    .bind(source)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// Each change CloudEvent's id with how often it was published.
pub async fn published(app: &TestApp) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for e in change_events(app).await {
        *seen.entry(e["id"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    seen
}

/// The recorded changes of one employee: (change id, type, source of the session that recorded it).
pub async fn recorded(app: &TestApp, employee: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT c.id::text, c.change_type, s.source FROM changes c JOIN sync_sessions s ON s.id = c.session_id
         WHERE c.employee_id = $1::uuid ORDER BY c.detected_at",
    )
    .bind(employee)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

pub fn text(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}
