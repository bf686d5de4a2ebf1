//! The states of a sync session and of a webhook delivery, typed end to end: the same
//! `snake_case` names in Postgres (`text` columns with CHECK constraints), JSON, NATS messages,
//! query parameters and metrics labels (the derives of `named_enum!`).

use strum::VariantArray;

named_enum! {
    /// Who asked for a session.
    pub enum Source {
        /// A signed-in user (JWT), e.g. the dashboard's Sync Now.
        Manual,
        /// The built-in cron scheduler.
        Scheduler,
        /// An API token, or the CLI.
        Api,
        /// A verified Employes webhook.
        Webhook,
        /// The company's watch: an incremental full sync every `watch_interval` (`triggered_by` `system`).
        Watch,
    }
}

named_enum! {
    /// What a session syncs: the whole company, or the listed employees.
    pub enum Scope {
        Full,
        Employees,
    }
}

impl Scope {
    /// `None` employee ids = a full sync.
    pub fn of(employee_ids: Option<&[uuid::Uuid]>) -> Scope {
        match employee_ids {
            None => Scope::Full,
            Some(_) => Scope::Employees,
        }
    }
}

named_enum! {
    /// Where a session stands. `queued → running → completed | completed_with_errors | failed`.
    pub enum SessionStatus {
        Queued,
        Running,
        Completed,
        CompletedWithErrors,
        Failed,
    }
}

impl SessionStatus {
    /// The session has ended; nothing changes it any more.
    pub fn is_final(self) -> bool {
        match self {
            SessionStatus::Queued | SessionStatus::Running => false,
            SessionStatus::Completed | SessionStatus::CompletedWithErrors | SessionStatus::Failed => true,
        }
    }
}

named_enum! {
    /// The stages of a session, run in [`Stage::ORDER`].
    pub enum Stage {
        /// Fetch employee records and version them.
        Snapshot,
        /// Fetch employments and version them.
        History,
        /// Detect, record and publish changes.
        Changes,
    }
}

impl Stage {
    /// The order a session runs its stages in (the declaration order).
    pub const ORDER: &'static [Stage] = Stage::VARIANTS;
}

named_enum! {
    /// Where one stage of a session stands.
    pub enum StageStatus {
        Pending,
        Running,
        Completed,
        CompletedWithErrors,
        Failed,
    }
}

impl StageStatus {
    /// From per-item results: no errors, some, or nothing but errors.
    pub fn from_counts(ok: usize, errors: usize) -> StageStatus {
        match (ok, errors) {
            (_, 0) => StageStatus::Completed,
            (0, _) => StageStatus::Failed,
            _ => StageStatus::CompletedWithErrors,
        }
    }

    /// A stage in this state is not run again when its session resumes.
    pub fn is_done(self) -> bool {
        match self {
            StageStatus::Completed | StageStatus::CompletedWithErrors => true,
            StageStatus::Pending | StageStatus::Running | StageStatus::Failed => false,
        }
    }
}

named_enum! {
    /// What became of one webhook delivery (`webhook_deliveries.outcome`).
    pub enum WebhookOutcome {
        /// Verified and put on the queue (later linked to the session that carries it).
        Accepted,
        /// Verified, of a type we do not act on.
        Ignored,
        /// A repeat of an accepted or ignored `webhook-id`.
        Duplicate,
        /// Not verified or malformed (recorded without its body).
        Rejected,
    }
}

named_enum! {
    /// What is wrong with a company (`issues.kind`).
    pub enum IssueKind {
        /// Employes rejected the company's API key (or none is set).
        AuthFailed,
        /// Employes could not be reached, or kept failing.
        ApiUnavailable,
        /// Requests kept being refused with 429 until they gave up.
        RateLimited,
        /// A sync failed for another reason.
        SyncFailed,
        /// The company's API key expires within 30 days.
        ApiKeyExpiring,
        /// An outbound endpoint was disabled.
        EndpointDisabled,
    }
}

named_enum! {
    /// How one delivery attempt of an event to an endpoint ended.
    pub enum AttemptStatus {
        /// Answered 2xx in time: delivered.
        Succeeded,
        /// Failed, and no retry is left (or the endpoint answered 410 Gone).
        Failed,
        /// Failed; retried at `next_attempt_at`.
        Pending,
    }
}

named_enum! {
    /// Whether an issue still holds.
    pub enum IssueStatus {
        Ongoing,
        Resolved,
    }
}

named_enum! {
    /// What a caller may do, in increasing order: each role may do what the ones before it may.
    /// Every audit entry carries the role its actor acted in.
    pub enum Role {
        /// Reads companies, sessions, changes, issues.
        Viewer,
        /// Also asks for syncs and replays, resolves milestones.
        Operator,
        /// Also changes companies and endpoints, reads the audit log, erases employees.
        Admin,
    }
}

named_enum! {
    /// What an audit entry records (`audit_entries.action`).
    pub enum AuditAction {
        /// A person or a token asked for a sync (the API or the CLI; not the scheduler or webhooks).
        SyncRequested,
        CompanyCreated,
        CompanyUpdated,
        CompanyDeleted,
        EndpointCreated,
        EndpointUpdated,
        EndpointDeleted,
        /// An endpoint's signing secret was replaced (the old one signs on for 24 h).
        EndpointSecretRotated,
        /// Events of a time range were queued again for an endpoint.
        EndpointReplayed,
        MilestoneResolved,
        /// An employee's stored data was erased.
        EmployeeErased,
    }
}

#[cfg(test)]
mod tests {
    use std::{fmt::Debug, str::FromStr};

    use serde::{Serialize, de::DeserializeOwned};

    use super::*;

    /// Every variant's name is the same for strum, serde (JSON) and the names listed here, which
    /// are the ones the migrations' CHECK constraints allow; and each parses back to itself.
    fn round_trips<T>(names: &[&str])
    where
        T: VariantArray + Copy + Eq + Debug + Serialize + DeserializeOwned + FromStr + Into<&'static str>,
        <T as FromStr>::Err: Debug,
    {
        let ours: Vec<&str> = T::VARIANTS.iter().map(|v| (*v).into()).collect();
        assert_eq!(ours, names);
        for v in T::VARIANTS {
            let name: &'static str = (*v).into();
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(name));
            assert_eq!(serde_json::from_value::<T>(serde_json::json!(name)).unwrap(), *v);
            assert_eq!(name.parse::<T>().unwrap(), *v);
        }
        assert!("bogus".parse::<T>().is_err());
        assert!(serde_json::from_str::<T>(r#""bogus""#).is_err());
    }

    #[test]
    fn source_names_round_trip() {
        round_trips::<Source>(&["manual", "scheduler", "api", "webhook", "watch"]);
    }

    #[test]
    fn scope_names_round_trip() {
        round_trips::<Scope>(&["full", "employees"]);
    }

    #[test]
    fn session_status_names_round_trip_and_only_the_last_three_are_final() {
        round_trips::<SessionStatus>(&["queued", "running", "completed", "completed_with_errors", "failed"]);
        let finals: Vec<_> = SessionStatus::VARIANTS.iter().filter(|s| s.is_final()).map(|s| s.as_str()).collect();
        assert_eq!(finals, ["completed", "completed_with_errors", "failed"]);
    }

    #[test]
    fn stage_names_round_trip_in_run_order_and_an_unknown_stage_does_not_parse() {
        round_trips::<Stage>(&["snapshot", "history", "changes"]);
        assert_eq!(Stage::ORDER, [Stage::Snapshot, Stage::History, Stage::Changes]);
        assert!("session".parse::<Stage>().is_err(), "the final event's `session` is not a stage");
    }

    #[test]
    fn stage_status_names_round_trip() {
        round_trips::<StageStatus>(&["pending", "running", "completed", "completed_with_errors", "failed"]);
        assert_eq!(StageStatus::from_counts(3, 0), StageStatus::Completed);
        assert_eq!(StageStatus::from_counts(3, 1), StageStatus::CompletedWithErrors);
        assert_eq!(StageStatus::from_counts(0, 1), StageStatus::Failed);
    }

    #[test]
    fn issue_names_round_trip() {
        round_trips::<IssueKind>(&[
            "auth_failed",
            "api_unavailable",
            "rate_limited",
            "sync_failed",
            "api_key_expiring",
            "endpoint_disabled",
        ]);
        round_trips::<IssueStatus>(&["ongoing", "resolved"]);
    }

    #[test]
    fn role_and_audit_action_names_round_trip_and_roles_are_ordered() {
        round_trips::<Role>(&["viewer", "operator", "admin"]);
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        round_trips::<AuditAction>(&[
            "sync_requested",
            "company_created",
            "company_updated",
            "company_deleted",
            "endpoint_created",
            "endpoint_updated",
            "endpoint_deleted",
            "endpoint_secret_rotated",
            "endpoint_replayed",
            "milestone_resolved",
            "employee_erased",
        ]);
    }

    #[test]
    fn attempt_status_names_round_trip() {
        round_trips::<AttemptStatus>(&["succeeded", "failed", "pending"]);
    }

    #[test]
    fn webhook_outcome_names_round_trip() {
        round_trips::<WebhookOutcome>(&["accepted", "ignored", "duplicate", "rejected"]);
    }
}
