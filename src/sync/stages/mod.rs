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
    employes::{EmployesClient, EmployesError},
};

/// What every stage can use.
#[derive(Clone)]
pub struct StageCtx {
    pub db: Db,
    pub bus: Bus,
    pub client: EmployesClient,
    /// CloudEvents `source` of change events.
    pub event_source: String,
    pub fetch_concurrency: usize,
    /// See [`crate::config::WorkerConfig::history_refresh_after`].
    pub history_refresh_after: std::time::Duration,
    pub cancel: CancellationToken,
}

/// Why a stage stopped before its end.
#[derive(Debug, thiserror::Error)]
pub enum Abort {
    /// Shutdown: leave the session for redelivery.
    #[error("cancelled by shutdown")]
    Cancelled,
    /// Nothing useful can be done: the session fails with this reason.
    #[error("{0}")]
    Fatal(String),
    /// A dependency (Postgres, NATS) failed: retry the session later.
    #[error("transient failure: {0:#}")]
    Transient(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Abort {
    fn from(e: sqlx::Error) -> Self {
        Abort::Transient(anyhow::Error::new(e).context("database"))
    }
}

/// The end of a stage: its status and the session count it sets.
#[derive(Debug, Clone, Copy)]
pub struct StageReport {
    pub status: StageStatus,
    pub count: i64,
}

/// A per-employee (or per-page) error row from an Employes failure.
pub fn error_row(employee_id: Option<uuid::Uuid>, e: &EmployesError) -> NewError {
    NewError { employee_id, code: e.code().to_string(), message: e.to_string() }
}

/// The session-level reason when Employes refuses the key.
pub fn fatal_if_unauthorized(e: &EmployesError) -> Option<Abort> {
    e.is_fatal().then(|| Abort::Fatal("Employes rejected the API key".to_string()))
}
