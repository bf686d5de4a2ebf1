//! Sessions: list, detail, and live progress over Server-Sent Events.

use std::{convert::Infallible, time::Duration};

use axum::{
    Router,
    extract::State,
    response::{
        IntoResponse, Sse,
        sse::{Event, KeepAlive},
    },
    routing::get,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Path, Query, limit},
};
use crate::{
    db::{
        Db,
        sessions::{self, ErrorRow, SessionRow, StageRow},
    },
    domain::{SessionStatus, Source},
    error::{AppError, AppResult, ErrorBody},
    sync::{ProgressEvent, progress},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sync/sessions", get(list))
        .route("/api/sync/sessions/{id}", get(detail))
        .route("/api/sync/sessions/{id}/events", get(events))
}

/// A session as the API shows it: the row, its stages, and (in the detail) its errors.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: SessionRow,
    pub stages: Vec<StageRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ErrorRow>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

pub async fn session_view(db: &Db, session: SessionRow, with_errors: bool) -> AppResult<SessionView> {
    let stages = sessions::stages(db, session.id).await?;
    let errors = if with_errors { Some(sessions::errors(db, session.id, 500).await?) } else { None };
    Ok(SessionView { session, stages, errors })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// 1–100, default 20.
    limit: Option<i64>,
    source: Option<Source>,
    status: Option<SessionStatus>,
}

#[utoipa::path(get, path = "/api/sync/sessions", tag = "sessions", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _who: Identity,
    Query(q): Query<ListQuery>,
) -> AppResult<impl IntoResponse> {
    let limit = limit(q.limit, 20, 100)?;
    let rows = sessions::list(&state.db, q.source, q.status, limit).await?;
    let ids: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
    let mut stages = sessions::stages_for(&state.db, &ids).await?;
    let sessions = rows
        .into_iter()
        .map(|session| SessionView { stages: stages.remove(&session.id).unwrap_or_default(), session, errors: None })
        .collect();
    Ok(axum::Json(SessionList { sessions }))
}

#[utoipa::path(get, path = "/api/sync/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn detail(State(state): State<AppState>, _who: Identity, Path(id): Path<Uuid>) -> AppResult<impl IntoResponse> {
    let s = sessions::get(&state.db, id).await?.ok_or_else(|| AppError::NotFound("no such session".into()))?;
    Ok(axum::Json(session_view(&state.db, s, true).await?))
}

/// Replay the session's progress from JetStream, then follow it live, ending after the final
/// `session` event. A session whose events expired gets one synthesized final event.
#[utoipa::path(get, path = "/api/sync/sessions/{id}/events", tag = "sessions", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "text/event-stream of progress events", body = ProgressEvent, content_type = "text/event-stream"),
              (status = 404, body = ErrorBody)))]
async fn events(State(state): State<AppState>, _who: Identity, Path(id): Path<Uuid>) -> AppResult<impl IntoResponse> {
    sessions::get(&state.db, id).await?.ok_or_else(|| AppError::NotFound("no such session".into()))?;
    let events = progress::follow(&state.bus, &state.db, id)
        .await
        .map_err(|e| AppError::Unavailable(format!("{e:#}")))?
        .take_until(state.shutdown.clone().cancelled_owned())
        .map(|e| sse(&e));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse(e: &ProgressEvent) -> Result<Event, Infallible> {
    Ok(Event::default().event("progress").json_data(e).unwrap_or_else(|_| Event::default().comment("unserializable")))
}
