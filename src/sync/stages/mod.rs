//! The three stages of a session. Each reads what it needs from Postgres and Employes,
//! writes idempotently (versions by hash, changes by key), so a re-run after a crash ends
//! in the same state.

pub mod changes;
pub mod history;
pub mod snapshot;

use tokio_util::sync::CancellationToken;

pub use crate::domain::StageStatus;
use crate::{
    bus::Bus,
    db::{Db, sessions::NewError},
    domain::IssueKind,
    employes::{EmployesClient, EmployesError},
};

/// What every stage of one session can use: the session's company and its Employes client.
#[derive(Clone)]
pub struct StageCtx {
    pub db: Db,
    pub bus: Bus,
    pub company: uuid::Uuid,
    /// The company's client (its key, its key's rate limiter).
    pub client: EmployesClient,
    pub fetch_concurrency: usize,
    /// The company's `history_refresh_after` (see [`crate::config::WorkerConfig::history_refresh_after`]).
    pub history_refresh_after: std::time::Duration,
    /// `TIMEZONE`, `MILESTONE_REMINDERS` and today, for the evaluation after the stages.
    pub milestones: crate::config::MilestonesConfig,
    /// What personal fields are digested under before they are stored.
    pub digest_key: std::sync::Arc<crate::domain::minimise::DigestKey>,
    /// The company's watch interval (`None` = not watched): sets the rolling refresh share.
    pub watch_interval: Option<std::time::Duration>,
    /// The worker's turns at a session's last phase (changes, milestones and their events: the
    /// part that holds the session's diff and evaluation in memory and uses the CPU), so that
    /// many sessions reaching it together take turns while the rest keep fetching.
    pub finishing: std::sync::Arc<tokio::sync::Semaphore>,
    pub cancel: CancellationToken,
}

/// Why a session failed: in words, and as the kind of company issue it raises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: IssueKind,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Failure {
    pub fn new(kind: IssueKind, reason: impl Into<String>) -> Failure {
        Failure { kind, reason: reason.into() }
    }
}

/// Why a stage stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum Abort {
    /// Shutdown: leave the session for redelivery.
    #[error("cancelled by shutdown")]
    Cancelled,
    /// Nothing useful can be done: the session fails with this reason.
    #[error("{0}")]
    Fatal(Failure),
    /// A dependency (Postgres, NATS) failed: retry the session later.
    #[error("transient failure: {0:#}")]
    Transient(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Abort {
    fn from(e: sqlx::Error) -> Self {
        Abort::Transient(anyhow::Error::new(e).context("database"))
    }
}

/// The end of a stage: its status, the session count it sets, and how many rows it stored that
/// a later stage reads (record and history versions, employees marked removed; 0 for changes).
#[derive(Debug, Clone, Copy)]
pub struct StageReport {
    pub status: StageStatus,
    pub count: i64,
    pub stored: u64,
}

/// A per-employee (or per-page) error row from an Employes failure.
pub fn error_row(employee_id: Option<uuid::Uuid>, e: &EmployesError) -> NewError {
    NewError { employee_id, code: e.code().to_string(), message: e.to_string() }
}

impl Abort {
    /// The session fails: `kind` of issue, `reason` in words.
    pub fn fatal(kind: IssueKind, reason: impl Into<String>) -> Abort {
        Abort::Fatal(Failure::new(kind, reason))
    }
}

/// The session-level reason when Employes refuses the key.
pub fn fatal_if_unauthorized(e: &EmployesError) -> Option<Abort> {
    e.is_fatal().then(|| Abort::fatal(IssueKind::AuthFailed, "Employes rejected the API key"))
}
