//! Named pause points for fault-injection tests. With `EMPLOYES_SYNC_PAUSE_AT=<name>` the
//! worker prints `failpoint reached: <name>` on stderr and stops there, so a test can kill the
//! process at an exact moment of a sync. Without the variable every point is a no-op.

use std::sync::OnceLock;

/// The points, in the order a session passes them.
pub const POINTS: [&str; 5] =
    ["snapshot_stored", "history_progress", "changes_committed", "changes_published", "session_finishing"];

fn armed() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var("EMPLOYES_SYNC_PAUSE_AT").ok().filter(|p| POINTS.contains(&p.as_str()))).as_deref()
}

/// Stop here forever when this point is armed.
pub async fn pause(name: &'static str) {
    if armed() == Some(name) {
        eprintln!("failpoint reached: {name}");
        std::future::pending::<()>().await;
    }
}
