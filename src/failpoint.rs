//! Named pause points for fault-injection tests. With `EMPLOYES_SYNC_PAUSE_AT=<name>` the
//! worker prints `failpoint reached: <name>` on stderr and stops there, so a test can kill the
//! process at an exact moment of a sync. Without the variable (or with an unknown name) every
//! point is a no-op.

use std::sync::OnceLock;

/// The points, in the order a session passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Failpoint {
    /// The snapshot stage stored its first page (or batch).
    SnapshotStored,
    /// The history stage processed its 20th employee.
    HistoryProgress,
    /// The changes stage committed the changes it found, before publishing them.
    ChangesCommitted,
    /// The changes stage published them, before closing the stage.
    ChangesPublished,
    /// Milestones were evaluated and the first of their events published, before it is marked.
    MilestoneEventPublished,
    /// Every stage ended; the final status is not stored yet.
    SessionFinishing,
    /// The final status is stored; the company's issues and the session's last event are not yet.
    SessionEnded,
}

fn armed() -> Option<Failpoint> {
    static AT: OnceLock<Option<Failpoint>> = OnceLock::new();
    *AT.get_or_init(|| std::env::var("EMPLOYES_SYNC_PAUSE_AT").ok().and_then(|p| p.parse().ok()))
}

/// Stop here forever when this point is armed.
pub async fn pause(point: Failpoint) {
    if armed() == Some(point) {
        eprintln!("failpoint reached: {point}");
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    #[test]
    fn the_names_tests_arm_are_the_points_in_session_order() {
        let names: Vec<String> = Failpoint::VARIANTS.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "snapshot_stored",
                "history_progress",
                "changes_committed",
                "changes_published",
                "milestone_event_published",
                "session_finishing",
                "session_ended"
            ]
        );
        assert!(names.iter().all(|n| n.parse::<Failpoint>().is_ok()));
    }
}
