//! `POST /webhooks/employes` and `POST /webhooks/employes/{company_id}`: Standard Webhooks
//! verification over the raw body, then the event goes on the company's durable sync queue. 202
//! only once JetStream holds it; no database work on this path (the worker admits the event into
//! a session) but the record of what is not queued (ignored, duplicate, rejected).
//!
//! Which company an event is about: the path's on the company route (a body naming another is a
//! 400); on the global route `data.company_id`, or with none the only company. An event for a
//! company this deployment does not serve (unknown, deleted, or unnamed while there are several)
//! is acknowledged as ignored and recorded, so a sender does not retry it forever.

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::time::Instant;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, REQUEST_ID,
    extract::Path,
    responses::{Intake, WebhookRateLimited},
    schemas::{self, COMPANY_SYNC, EMPLOYEE_EVENTS},
    webhook_event::{self, NamedCompany},
};
use crate::{
    db::webhooks::{self, Delivery},
    domain::WebhookOutcome,
    error::{AppError, ErrorBody},
    sync::{AdmitWebhook, QueueTask, TriggerError, trigger},
    webhook_signature::{self, SignedHeaders, WebhookKey},
};

pub const MAX_BODY: usize = 256 * 1024;

pub const PATH: &str = "/webhooks/employes";

const STORAGE_UNAVAILABLE: &str = "storage_unavailable";

/// A sender over `WEBHOOK_RATE_LIMIT`: answered, counted, neither recorded nor logged above DEBUG
/// (a flood must not turn into as many writes).
const RATE_LIMITED: &str = "rate_limited";

/// How long a rejection's record may take once the request's deadline has passed.
const REJECTION_RECORD_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

static WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
static WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
static WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive_webhook)).routes(routes!(receive_company_webhook))
}

/// Whether `path` is one of intake's (their spans are at DEBUG: see [`super::service`]).
pub fn is_intake(path: &str) -> bool {
    path.strip_prefix(PATH).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Counts one delivery by its outcome (the label is the outcome's name, as recorded).
fn count(outcome: WebhookOutcome) {
    metrics::counter!("employes_sync_webhook_deliveries_total", "outcome" => outcome.as_str()).increment(1);
}

/// Which route a delivery came in on.
#[derive(Debug, Clone, Copy)]
enum Route {
    /// `POST /webhooks/employes`: `WEBHOOK_SECRET`, routed by `data.company_id`.
    Global,
    /// `POST /webhooks/employes/{company_id}`: the company's `webhook_secrets` (or `WEBHOOK_SECRET`).
    Company(Uuid),
}

/// A rejected delivery: recorded (without the body) and answered with the app's error JSON.
struct Rejection {
    error: AppError,
    reason: &'static str,
}

fn reject(error: AppError, reason: &'static str) -> Rejection {
    Rejection { error, reason }
}

/// Answer of an accepted (or accepted-and-ignored) delivery.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookAccepted {
    /// Always `true`.
    accepted: bool,
    /// The `webhook-id`.
    event_id: String,
    /// `true` when the event is recorded but not acted on: a type we do not act on, or a company
    /// this deployment does not serve; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ignored: Option<bool>,
}

/// Answer to a `webhook-id` that was already accepted.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct WebhookDuplicate {
    /// Always `true`.
    duplicate: bool,
}

/// The Standard Webhooks headers of a delivery.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header, rename_all = "kebab-case")]
#[allow(dead_code)] // read from the raw headers; this only documents them
struct WebhookHeaders {
    /// the delivery's id (1–256 visible ASCII characters): the same on every retry
    #[param(pattern = "^[!-~]{1,256}$")]
    webhook_id: String,
    /// unix seconds; outside ±5 minutes of the server's clock is refused (401)
    #[param(pattern = "^[0-9]{1,19}$")]
    webhook_timestamp: String,
    /// space-separated `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>` (up to 16);
    /// entries of other versions are skipped
    #[param(pattern = "^[!-~]{1,1000}( [!-~]{1,1000}){0,15}$")]
    webhook_signature: String,
}

/// A Standard Webhooks delivery: verified over the raw body with `WEBHOOK_SECRET`, then queued
/// for the company `data.company_id` names (with none, the only company). The event types we act
/// on start a sync; any other, and any event for a company this deployment does not serve (or
/// naming none while there are several), is accepted, recorded and ignored.
#[utoipa::path(post, path = PATH, tag = "webhooks", params(WebhookHeaders),
    request_body(content = schemas::WebhookEvent, content_type = "application/json"),
    responses((status = 202, description = "stored on the sync queue (or recorded and ignored: `ignored`)", body = WebhookAccepted),
              (status = 200, description = "this `webhook-id` was accepted before", body = WebhookDuplicate),
              (status = 400, description = "a body that is not the event described (not JSON, not an object, a bad `type`, `data.employee_id` or `data.company_id`)", body = ErrorBody),
              Intake, WebhookRateLimited))]
async fn receive_webhook(State(state): State<AppState>, request: Request) -> Response {
    receive(state, Route::Global, request).await
}

/// A Standard Webhooks delivery for one company: verified over the raw body with the company's
/// `webhook_secrets` (a company without any: `WEBHOOK_SECRET`), then queued. A body whose
/// `data.company_id` names another company is refused (400). A company this deployment does not
/// serve is verified with `WEBHOOK_SECRET`, and its events are accepted, recorded and ignored.
#[utoipa::path(post, path = "/webhooks/employes/{company_id}", tag = "webhooks",
    params(("company_id" = Uuid, Path, description = "The company the events are about"), WebhookHeaders),
    request_body(content = schemas::WebhookEvent, content_type = "application/json"),
    responses((status = 202, description = "stored on the sync queue (or recorded and ignored: `ignored`)", body = WebhookAccepted),
              (status = 200, description = "this `webhook-id` was accepted before", body = WebhookDuplicate),
              (status = 400, description = "a malformed company id, a body that is not the event described (not JSON, not an object, a bad `type`, `data.employee_id` or `data.company_id`), or a `data.company_id` that is not the path's", body = ErrorBody),
              Intake, WebhookRateLimited))]
async fn receive_company_webhook(
    State(state): State<AppState>,
    Path(company_id): Path<Uuid>,
    request: Request,
) -> Response {
    receive(state, Route::Company(company_id), request).await
}

async fn receive(state: AppState, route: Route, request: Request) -> Response {
    // Split, not extracted: the `HeaderMap` extractor would clone every header.
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // One deadline for the whole request (these routes are outside `TimeoutLayer`): the body read
    // and every database write below share it. The publish is bounded by JetStream's ack timeout.
    let deadline = Instant::now() + state.config.request_timeout;
    match handle(&state, route, &headers, body, deadline).await {
        Ok(response) => response,
        Err(r) => {
            count(WebhookOutcome::Rejected);
            let webhook_id = header_str(&headers, &WEBHOOK_ID).filter(|id| webhook_signature::is_valid_id(id));
            let request_id = header_str(&headers, &REQUEST_ID).unwrap_or("-");
            if r.reason == RATE_LIMITED {
                tracing::debug!(reason = r.reason, request_id, "webhook rejected");
            } else {
                tracing::info!(reason = r.reason, request_id, "webhook rejected");
            }
            // Recorded unless the database is what failed (or a flood is); a rejection that comes
            // at the deadline (a stalled body) still gets a short moment for its record.
            if r.reason != STORAGE_UNAVAILABLE && r.reason != RATE_LIMITED {
                let company_id = match route {
                    Route::Company(id) => state.companies.get(id).map(|c| c.id()),
                    Route::Global => None,
                };
                let delivery = Delivery {
                    company_id,
                    webhook_id,
                    reason: Some(r.reason),
                    ..Delivery::new(WebhookOutcome::Rejected)
                };
                let until = deadline.max(Instant::now() + REJECTION_RECORD_GRACE);
                if let Err(e) = record(&state, &delivery, until).await {
                    tracing::warn!(error = %e, "could not record a rejected webhook");
                }
            }
            r.error.into_response()
        }
    }
}

/// The company an event is about, or why it is about none this deployment serves (the reason
/// its ignored delivery is recorded with).
fn company_of(state: &AppState, route: Route, named: NamedCompany) -> Result<Result<Uuid, &'static str>, Rejection> {
    let served = |id: Uuid| state.companies.get(id).is_some();
    Ok(match (route, named) {
        (Route::Company(id), _) if !served(id) => Err("unknown_company"),
        (Route::Company(id), NamedCompany::Unnamed) => Ok(id),
        (Route::Company(id), NamedCompany::Id(named)) if named == id => Ok(id),
        (Route::Company(_), NamedCompany::Id(_)) => {
            let mismatch = AppError::BadRequest("data.company_id is not the company of the path".into());
            return Err(reject(mismatch, "company_mismatch"));
        }
        (Route::Global, NamedCompany::Id(id)) if served(id) => Ok(id),
        (Route::Global, NamedCompany::Id(_)) => Err("unknown_company"),
        (Route::Global, NamedCompany::Unnamed) => {
            state.companies.resolve(None, None).map(|only| only.id()).map_err(|_| "company_required")
        }
    })
}

async fn handle(
    state: &AppState,
    route: Route,
    headers: &HeaderMap,
    body: Body,
    deadline: Instant,
) -> Result<Response, Rejection> {
    let config = &state.config;
    // A company with secrets of its own is verified with those only; any other with WEBHOOK_SECRET.
    let company_keys = match route {
        Route::Company(id) => state.companies.get(id).filter(|c| !c.webhook_keys.is_empty()),
        Route::Global => None,
    };
    let keys: &[WebhookKey] = company_keys.as_ref().map_or(&config.webhook_secrets, |c| &c.webhook_keys);
    if keys.is_empty() {
        return Err(reject(AppError::Unavailable("webhooks not configured".into()), "not_configured"));
    }
    let body = read_limited(headers, body, deadline)
        .await?
        .ok_or_else(|| reject(AppError::BodyTimeout(config.request_timeout), "body_timeout"))?;
    let is_json = header_str(headers, &header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(reject(AppError::UnsupportedMediaType("webhooks must be application/json".into()), "content_type"));
    }
    let signed = SignedHeaders {
        id: header_str(headers, &WEBHOOK_ID),
        timestamp: header_str(headers, &WEBHOOK_TIMESTAMP),
        signature: header_str(headers, &WEBHOOK_SIGNATURE),
    };
    let now = chrono::Utc::now();
    let id = webhook_signature::verify(keys, signed, &body, now.timestamp())
        .map_err(|e| reject(AppError::Unauthorized(e.to_string()), "signature"))?;
    let event = webhook_event::parse(&body).map_err(|m| reject(AppError::BadRequest(m.0.into()), "malformed"))?;
    let company = company_of(state, route, event.company)?;
    // Counted per sending company once the sender proved it holds a secret.
    state.limits.webhook(company.ok()).map_err(|e| reject(e, RATE_LIMITED))?;

    let delivery = |outcome, reason| Delivery {
        company_id: company.ok(),
        webhook_id: Some(id),
        event_type: Some(event.kind.as_str()),
        employee_id: event.employee_id,
        reason,
        ..Delivery::new(outcome)
    };
    let targeted = EMPLOYEE_EVENTS.contains(&event.kind.as_str());
    let acted_on = targeted || event.kind == COMPANY_SYNC;
    let company = match company {
        Ok(company) if acted_on => company,
        unserved => {
            let ignored = delivery(WebhookOutcome::Ignored, unserved.err());
            if !record(state, &ignored, deadline).await.map_err(db_unavailable)? {
                return Ok(duplicate(state, &delivery(WebhookOutcome::Duplicate, None), deadline).await);
            }
            count(WebhookOutcome::Ignored);
            return Ok(accepted(id, Some(true)));
        }
    };
    // Intake only puts the verified event on the durable queue: `Nats-Msg-Id` = webhook-id
    // deduplicates repeats within the stream's window, and the worker admits the event
    // (records the delivery, joins or creates a session; repeats after the window are dropped).
    let task = QueueTask::AdmitWebhook(AdmitWebhook {
        company_id: Some(company),
        webhook_id: id.to_string(),
        event_type: event.kind.clone(),
        employee_ids: event.employee_id.filter(|_| targeted).map(|e| vec![e]),
        triggered_by: "employes".into(),
        requested_at: now,
    });
    let repeated = trigger::publish(&state.bus, company, &task, id)
        .await
        .map_err(|e| reject(AppError::from(TriggerError::from(e)), "queue_unavailable"))?;
    if repeated {
        return Ok(duplicate(state, &delivery(WebhookOutcome::Duplicate, None), deadline).await);
    }
    count(WebhookOutcome::Accepted);
    Ok(accepted(id, None))
}

fn accepted(event_id: &str, ignored: Option<bool>) -> Response {
    let body = WebhookAccepted { accepted: true, event_id: event_id.to_string(), ignored };
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

async fn duplicate(state: &AppState, d: &Delivery<'_>, deadline: Instant) -> Response {
    count(WebhookOutcome::Duplicate);
    if let Err(e) = record(state, d, deadline).await {
        tracing::warn!(error = %e, "could not record a duplicate webhook");
    }
    (StatusCode::OK, axum::Json(WebhookDuplicate { duplicate: true })).into_response()
}

/// Record a delivery that is not queued (ignored, duplicate, rejected) before `deadline`: a
/// stalled database must not hold the request. A company that does not exist (deleted since the
/// registry last loaded, or a rejected delivery's path) is recorded as none.
async fn record(state: &AppState, d: &Delivery<'_>, deadline: Instant) -> sqlx::Result<bool> {
    let write = async {
        match webhooks::record(&state.db, d).await {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                webhooks::record(&state.db, &Delivery { company_id: None, ..d.clone() }).await
            }
            written => written,
        }
    };
    tokio::time::timeout_at(deadline, write).await.unwrap_or_else(|_| {
        let stalled = std::io::Error::new(std::io::ErrorKind::TimedOut, "the database did not answer in time");
        Err(sqlx::Error::Io(stalled))
    })
}

fn db_unavailable(e: sqlx::Error) -> Rejection {
    tracing::error!(error = %e, "database error while receiving a webhook");
    reject(AppError::Unavailable("storage unavailable, retry later".into()), STORAGE_UNAVAILABLE)
}

/// The body, up to `MAX_BODY`; `None` when it has not all arrived by `deadline` (a timer is
/// registered only if it is not all there already).
async fn read_limited(headers: &HeaderMap, body: Body, deadline: Instant) -> Result<Option<Bytes>, Rejection> {
    let too_large = || reject(AppError::PayloadTooLarge(MAX_BODY), "too_large");
    let declared = header_str(headers, &header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    match tokio::time::timeout_at(deadline, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(read) => read.map(Some).map_err(|_| too_large()),
        Err(_) => Ok(None),
    }
}

/// Looked up by `HeaderName` (a `&str` name would be parsed again on every lookup).
fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
