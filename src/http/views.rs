//! What the API shows of a session, shared by the resources that show one (the session routes
//! and the sync status).

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
