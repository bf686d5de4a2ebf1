//! Sessions: list, detail, and live progress over Server-Sent Events.

use axum::{extract::State, response::IntoResponse};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::{Limit, Path, Query},
    limits::Caller,
    paging::{self, Cursor, MAX_LIMIT, TimeKey},
    responses::{Authenticated, CompanyFilter, SessionById, Storage, TooManyStreams},
    schemas::ProgressSseEvent,
    sse,
    views::SessionView,
};
use crate::{
    db::sessions::{self, SessionFilter, SessionRow},
    domain::{SessionStatus, Source},
    error::{AppError, AppResult},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(get_session))
        .routes(routes!(follow_session_events))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
    /// Pass it as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// How many sessions, newest first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<20, { MAX_LIMIT }>,
    /// Where the previous page ended (its `next_cursor`).
    #[param(schema_with = paging::cursor_schema::<TimeKey>)]
    cursor: Option<Cursor<TimeKey>>,
    /// Only this company's sessions.
    company_id: Option<Uuid>,
    /// Only sessions of this source.
    source: Option<Source>,
    /// Only sessions in this status.
    status: Option<SessionStatus>,
    /// `false`: without quiet watches (completed, nothing recorded, no error; the dashboard's
    /// default); `true`: only them. Absent: every session.
    quiet: Option<bool>,
}

/// Recent sessions of the companies the caller sees, newest first, each with its stages.
#[utoipa::path(get, path = "/api/sync/sessions", tag = "sessions", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, description = "the sessions", body = SessionList,
               links(("first_session" = (operation_id = "get_session",
                                         parameters(("id" = "$response.body#/sessions/0/id")))))),
              CompanyFilter, Authenticated, Storage))]
async fn list_sessions(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<ListQuery>,
) -> AppResult<impl IntoResponse> {
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let filter = SessionFilter {
        company_id: q.company_id,
        companies: who.visible(),
        source: q.source,
        status: q.status,
        quiet: q.quiet,
        after: q.cursor.map(|c| c.0),
        limit: paging::fetch_limit(q.limit.get()),
    };
    let rows = sessions::list(&state.db, &filter).await?;
    let (rows, next_cursor) = paging::page(rows, q.limit.get(), |s: &SessionRow| (s.requested_at, s.id));
    let ids: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
    let mut stages = sessions::stages_for(&state.db, &ids).await?;
    let sessions = rows
        .into_iter()
        .map(|session| SessionView { stages: stages.remove(&session.id).unwrap_or_default(), session, errors: None })
        .collect();
    Ok(axum::Json(SessionList { sessions, next_cursor }))
}

/// The session, when the caller may see its company (else 404, as for an unknown one).
async fn visible_session(state: &AppState, who: &Identity, id: Uuid) -> AppResult<SessionRow> {
    sessions::get(&state.db, id)
        .await?
        .filter(|s| who.sees(s.company_id))
        .ok_or_else(|| AppError::NotFound("no such session".into()))
}

/// One session with its stages and errors.
#[utoipa::path(get, path = "/api/sync/sessions/{id}", tag = "sessions",
    params(("id" = Uuid, Path, description = "The session's id")), security(("bearer" = [])),
    responses((status = 200, description = "the session", body = SessionView,
               links(("events" = (operation_id = "follow_session_events", parameters(("id" = "$response.body#/id")))))),
              SessionById, Authenticated, Storage))]
async fn get_session(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    let s = visible_session(&state, &who, id).await?;
    Ok(axum::Json(SessionView::detail(&state.db, s).await?))
}

/// Replay the session's progress, then follow it live, ending after the final `session` event.
/// A session whose events expired gets one synthesized final event. Followers of one session
/// share one JetStream consumer per replica; a follower that falls behind is dropped; a caller
/// holds at most `SSE_MAX_PER_TOKEN` streams open, a replica `SSE_MAX`.
#[utoipa::path(get, path = "/api/sync/sessions/{id}/events", tag = "sessions",
    params(("id" = Uuid, Path, description = "The session's id")), security(("bearer" = [])),
    responses((status = 200, description = "`progress` events, each one `data:` line of JSON", body = ProgressSseEvent,
               content_type = "text/event-stream"),
              SessionById, Authenticated, TooManyStreams, Storage))]
async fn follow_session_events(
    State(state): State<AppState>,
    who: Identity,
    Path(id): Path<Uuid>,
) -> AppResult<impl IntoResponse> {
    // The slot first: a caller over its streams costs no query; it is given back when the
    // stream ends or its client goes.
    let slot = state.limits.streams.open(Caller::of(&who))?;
    visible_session(&state, &who, id).await?;
    let events = state
        .hub
        .follow(id)
        .await
        .map_err(|e| AppError::Unavailable(format!("{e:#}")))?
        .take_until(state.shutdown.clone().cancelled_owned())
        .map(move |e| {
            let _open = &slot;
            sse::event("progress", &e)
        });
    Ok(sse::answer(events))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::extract::tests::query;

    #[tokio::test]
    async fn filters_parse_into_their_enums_and_a_bad_one_is_named_in_the_message() {
        // Arrange
        let uri = "/api/sync/sessions?source=webhook&status=failed&limit=5&quiet=false";
        // Act
        let parsed = query::<ListQuery>(uri).await.unwrap();
        let default = query::<ListQuery>("/api/sync/sessions").await.unwrap();
        // Assert
        assert_eq!(
            (parsed.source, parsed.status, parsed.limit.get(), parsed.quiet),
            (Some(Source::Webhook), Some(SessionStatus::Failed), 5, Some(false))
        );
        assert_eq!((default.source, default.status, default.limit.get(), default.quiet), (None, None, 20, None));
        for (params, expected) in [
            ("limit=0", "limit must be between 1 and 500"),
            ("limit=501", "limit must be between 1 and 500"),
            ("cursor=abc", "cursor must be a next_cursor this list gave out"),
            (
                "source=cron",
                "Failed to deserialize query string: source: unknown variant `cron`, expected one of `manual`, \
                 `scheduler`, `api`, `webhook`, `watch`",
            ),
            (
                "status=done",
                "Failed to deserialize query string: status: unknown variant `done`, expected one of `queued`, \
                 `running`, `completed`, `completed_with_errors`, `failed`",
            ),
        ] {
            let message = query::<ListQuery>(&format!("/api/sync/sessions?{params}")).await.err();
            assert_eq!(message.as_deref(), Some(expected), "{params}");
        }
    }
}
