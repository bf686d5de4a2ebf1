//! `GET /api/sync/activity`: one Server-Sent Events stream that says when a session of a
//! company the caller sees starts running and when it ends, whoever started it (a person, the
//! scheduler, a watch, a webhook). The dashboard opens it once and follows each session it
//! announces through `GET /api/sync/sessions/{id}/events`, so a sync shorter than any poll
//! interval is still seen running, and nothing is polled while a sync runs.
//!
//! It reads the progress subjects with a plain (core NATS) subscription: no consumer, nothing
//! stored per client; a session's company is read once from its row.

use std::collections::HashMap;

use axum::{extract::State, response::IntoResponse};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, Identity,
    extract::Query,
    limits::Caller,
    responses::{Authenticated, CompanyFilter, Storage, TooManyStreams},
    sse,
};
use crate::{
    db::sessions,
    domain::SessionStatus,
    error::{AppError, AppResult},
    sync::ProgressEvent,
};

/// Sessions whose company a stream remembers (beyond it, it forgets them all and reads again).
const REMEMBERED: usize = 10_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(follow_sync_activity))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ActivityQuery {
    /// Only this company's sessions (else every company the caller sees).
    company_id: Option<Uuid>,
}

/// A session started running (`running`) or ended (its final status).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionActivity {
    session_id: Uuid,
    company_id: Uuid,
    status: SessionStatus,
}

/// `session` events: each session of the caller's companies once when it is first seen running
/// and once when it ends. Follow a session's stages with `GET /api/sync/sessions/{id}/events`.
/// Sessions already running when the stream opens are announced at their next progress event.
#[utoipa::path(get, path = "/api/sync/activity", tag = "sessions", params(ActivityQuery), security(("bearer" = [])),
    responses((status = 200, description = "`session` events, each one `data:` line of JSON", body = SessionActivity,
               content_type = "text/event-stream"),
              CompanyFilter, Authenticated, TooManyStreams, Storage))]
async fn follow_sync_activity(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<ActivityQuery>,
) -> AppResult<impl IntoResponse> {
    let slot = state.limits.streams.open(Caller::of(&who))?;
    if let Some(id) = q.company_id {
        state.company(&who, Some(id))?;
    }
    let subscriber = state
        .bus
        .client
        .subscribe(state.bus.all_progress_subject())
        .await
        .map_err(|e| AppError::Unavailable(format!("cannot watch progress: {e}")))?;
    // The server has the subscription before the answer goes out: a sync asked for after it is seen.
    state.bus.client.flush().await.map_err(|e| AppError::Unavailable(format!("cannot watch progress: {e}")))?;
    let db = state.db.clone();
    let shutdown = state.shutdown.clone();
    let events = async_stream::stream! {
        let _open = slot;
        // session → its company when the caller may see it (None: not shown to this caller).
        let mut companies: HashMap<Uuid, Option<Uuid>> = HashMap::new();
        let mut subscriber = Box::pin(subscriber.take_until(shutdown.cancelled_owned()));
        while let Some(msg) = subscriber.next().await {
            let Ok(event) = serde_json::from_slice::<ProgressEvent>(&msg.payload) else { continue };
            let id = event.session_id;
            let company = match companies.get(&id) {
                Some(known) => *known,
                None => {
                    let Ok(row) = sessions::get(&db, id).await else { continue };
                    let company = row.map(|s| s.company_id).filter(|c| {
                        who.sees(*c) && q.company_id.is_none_or(|only| only == *c)
                    });
                    if companies.len() >= REMEMBERED {
                        companies.clear();
                    }
                    companies.insert(id, company);
                    if let Some(company_id) = company
                        && !event.is_final()
                    {
                        yield sse::event("session", &SessionActivity { session_id: id, company_id, status: SessionStatus::Running });
                    }
                    company
                }
            };
            if let (Some(company_id), Some(status)) = (company, event.final_status()) {
                companies.remove(&id);
                yield sse::event("session", &SessionActivity { session_id: id, company_id, status });
            }
        }
    };
    Ok(sse::answer(events))
}
