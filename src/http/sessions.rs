//! Sessions: list, detail, and live progress over Server-Sent Events.

use std::{convert::Infallible, time::Duration};

use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
use axum::{
    Router,
    extract::State,
    response::{
        IntoResponse, Sse,
        sse::{Event, KeepAlive},
    },
    routing::get,
};
use futures::{Stream, StreamExt};
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
    error::{AppError, AppResult, ErrorBody},
    sync::ProgressEvent,
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
    source: Option<String>,
    status: Option<String>,
}

const SOURCES: [&str; 4] = ["manual", "scheduler", "api", "webhook"];
const STATUSES: [&str; 5] = ["queued", "running", "completed", "completed_with_errors", "failed"];

#[utoipa::path(get, path = "/api/sync/sessions", tag = "sessions", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _who: Identity,
    Query(q): Query<ListQuery>,
) -> AppResult<impl IntoResponse> {
    let limit = limit(q.limit, 20, 100)?;
    if q.source.as_deref().is_some_and(|s| !SOURCES.contains(&s)) {
        return Err(AppError::BadRequest(format!("source must be one of {}", SOURCES.join(", "))));
    }
    if q.status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(AppError::BadRequest(format!("status must be one of {}", STATUSES.join(", "))));
    }
    let rows = sessions::list(&state.db, q.source.as_deref(), q.status.as_deref(), limit).await?;
    let mut out = Vec::with_capacity(rows.len());
    for s in rows {
        out.push(session_view(&state.db, s, false).await?);
    }
    Ok(axum::Json(SessionList { sessions: out }))
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
    let stream = state
        .bus
        .js
        .get_stream(state.bus.progress_stream())
        .await
        .map_err(|e| AppError::Unavailable(format!("progress stream unavailable: {e}")))?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: state.bus.progress_subject(id),
            deliver_policy: DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| AppError::Unavailable(format!("cannot follow progress: {e}")))?;
    let messages =
        consumer.messages().await.map_err(|e| AppError::Unavailable(format!("cannot follow progress: {e}")))?;
    Ok(Sse::new(progress_stream(state, id, messages)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn progress_stream(
    state: AppState,
    id: Uuid,
    messages: async_nats::jetstream::consumer::pull::Ordered,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream(move |tx| async move {
        let mut messages = Box::pin(messages);
        loop {
            let next = tokio::select! {
                _ = state.shutdown.cancelled() => return,
                m = tokio::time::timeout(Duration::from_secs(2), messages.next()) => m,
            };
            match next {
                Ok(Some(Ok(msg))) => {
                    let Ok(event) = serde_json::from_slice::<ProgressEvent>(&msg.payload) else {
                        continue;
                    };
                    let last = event.is_final();
                    if tx.send(sse(&event)).await.is_err() || last {
                        return;
                    }
                }
                Ok(Some(Err(e))) => tracing::debug!(error = %e, "progress stream hiccup"),
                Ok(None) => return,
                // Quiet for a while: if the session already ended (events expired), say so and stop.
                Err(_) => {
                    if let Ok(Some(s)) = sessions::get(&state.db, id).await {
                        if s.is_final() && idle_final(&s) {
                            let _ = tx.send(sse(&final_event(&s))).await;
                            return;
                        }
                    }
                }
            }
        }
    })
}

/// Ended more than a few seconds ago: its final event would have arrived by now.
fn idle_final(s: &SessionRow) -> bool {
    s.completed_at.is_none_or(|at| chrono::Utc::now() - at > chrono::Duration::seconds(3))
}

fn final_event(s: &SessionRow) -> ProgressEvent {
    ProgressEvent {
        session_id: s.id,
        stage: "session".into(),
        status: s.status.clone(),
        processed: s.employees_processed.into(),
        total: s.changes_detected.into(),
        at: s.completed_at.unwrap_or_else(chrono::Utc::now),
    }
}

fn sse(e: &ProgressEvent) -> Result<Event, Infallible> {
    Ok(Event::default().event("progress").json_data(e).unwrap_or_else(|_| Event::default().comment("unserializable")))
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
