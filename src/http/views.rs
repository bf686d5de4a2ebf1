//! What the API shows of a session, shared by the resources that show one (the session routes
//! and the sync status), and how current a company's copy is (the sync status and the company
//! resource).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{
    Db,
    sessions::{self, ErrorRow, SessionRow, StageRow},
};

/// Most errors a session's detail lists.
const DETAIL_ERRORS: i64 = 500;

/// A session as the API shows it: the row, its stages, and (in the detail) its errors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionRow,
    pub stages: Vec<StageRow>,
    /// In the detail only: up to 500 of its errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<ErrorRow>>,
}

impl SessionView {
    /// The row and its stages (the shape of a list item).
    pub async fn summary(db: &Db, session: SessionRow) -> sqlx::Result<SessionView> {
        let stages = sessions::stages(db, session.id).await?;
        Ok(SessionView { session, stages, errors: None })
    }

    /// The row, its stages and its first errors.
    pub async fn detail(db: &Db, session: SessionRow) -> sqlx::Result<SessionView> {
        let stages = sessions::stages(db, session.id).await?;
        let errors = sessions::errors(db, session.id, DETAIL_ERRORS).await?;
        Ok(SessionView { session, stages, errors: Some(errors) })
    }
}

/// How current the copy of the company is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// No full sync has completed yet.
    Never,
    /// A session is queued or running.
    Syncing,
    /// The last full sync completed within `SYNC_OUTDATED_AFTER`.
    Current,
    /// The last full sync completed longer than `SYNC_OUTDATED_AFTER` ago.
    Outdated,
    /// The latest session failed.
    Error,
}

/// How current a company's copy is: syncing while a session is queued or running, `error` when
/// its latest session failed, else by its last successful full sync.
pub fn sync_status(
    active: bool,
    latest_failed: bool,
    last_success: Option<DateTime<Utc>>,
    outdated_after: std::time::Duration,
) -> SyncStatus {
    let outdated_after = chrono::Duration::from_std(outdated_after).unwrap_or(chrono::Duration::MAX);
    if active {
        SyncStatus::Syncing
    } else if latest_failed {
        SyncStatus::Error
    } else {
        match last_success {
            None => SyncStatus::Never,
            Some(at) if Utc::now() - at > outdated_after => SyncStatus::Outdated,
            Some(_) => SyncStatus::Current,
        }
    }
}
