//! Load limits against the real server: per-caller API rates and per-company webhook rates
//! answered 429 with `Retry-After` (another caller unaffected), bounded event streams, one
//! consumer per followed session however many follow it, and a stalled client dropped.

mod export;
mod rates;
mod streams;

use crate::helpers::*;

/// A second API token (another caller).
pub const OTHER_TOKEN: &str = "other-token-0123456789abcdef";

/// The kit's settings with `pairs` set and a second token; only the HTTP role (nothing runs the
/// queued sessions, so they stay open to follow).
pub async fn limited_app(env: &mut TestEnv, pairs: &[(&str, &str)]) -> TestApp {
    env.set("API_TOKENS", &format!("ci:{API_TOKEN}:admin,other:{OTHER_TOKEN}:viewer"));
    for (key, value) in pairs {
        env.set(key, value);
    }
    env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await
}

/// The value of the metric line that starts with `series` on `/metrics` (0 when absent).
pub async fn metric(app: &TestApp, series: &str) -> f64 {
    let text = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A queued session of the first company (an HTTP-only app never runs it).
pub async fn queued_session(app: &TestApp) -> String {
    let (status, requested) = app.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    requested["session_id"].as_str().unwrap().to_string()
}

/// Publish one progress event of `session` as the worker would (stored on the progress stream).
pub async fn publish_progress(app: &TestApp, session: &str, stage: &str, status: &str, processed: i64) {
    let event = serde_json::json!({
        "session_id": session, "stage": stage, "status": status, "processed": processed, "total": 10,
        "at": chrono::Utc::now(),
    });
    let subject = format!("{}.sync.progress.{session}", app.bus.prefix());
    app.bus.js.publish(subject, serde_json::to_vec(&event).unwrap().into()).await.unwrap().await.unwrap();
}
