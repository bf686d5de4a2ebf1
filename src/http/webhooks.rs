//! `POST /webhooks/employes`: Standard Webhooks verification over the raw body, then the
//! event goes on the durable sync queue. 202 only once JetStream holds it; no database work
//! on this path (the worker admits the event into a session).

use std::borrow::Cow;

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{
    Deserializer,
    de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor},
};
use serde_json::value::RawValue;
use tokio::time::Instant;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    AppState, REQUEST_ID,
    responses::WebhookRateLimited,
    schemas::{self, COMPANY_SYNC, EMPLOYEE_EVENTS},
};
use crate::{
    db::webhooks::{self, Delivery},
    domain::WebhookOutcome,
    error::{AppError, ErrorBody},
    sync::{AdmitWebhook, QueueTask, TriggerError, trigger},
    webhook_signature::{self, SignedHeaders},
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
    OpenApiRouter::new().routes(routes!(receive_webhook))
}

/// Counts one delivery by its outcome (the label is the outcome's name, as recorded).
fn count(outcome: WebhookOutcome) {
    metrics::counter!("employes_sync_webhook_deliveries_total", "outcome" => outcome.as_str()).increment(1);
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
    /// `true` when the event type is not one we act on; absent otherwise.
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

/// A Standard Webhooks delivery: verified over the raw body with `WEBHOOK_SECRET`, then queued.
/// The event types we act on start a sync; any other is accepted, recorded and ignored.
#[utoipa::path(post, path = PATH, tag = "webhooks",
    params(("webhook-id" = String, Header, pattern = "^[!-~]{1,256}$",
            description = "the delivery's id (1–256 visible ASCII characters): the same on every retry"),
           ("webhook-timestamp" = String, Header, pattern = "^[0-9]{1,19}$",
            description = "unix seconds; outside ±5 minutes of the server's clock is refused (401)"),
           ("webhook-signature" = String, Header, pattern = "^[!-~]{1,1000}( [!-~]{1,1000}){0,15}$",
            description = "space-separated `v1,<base64(HMAC-SHA256(key, \"{id}.{timestamp}.{body}\"))>` (up to 16); \
                           entries of other versions are skipped")),
    request_body(content = schemas::WebhookEvent, content_type = "application/json"),
    responses((status = 202, description = "stored on the sync queue (or recorded and ignored: `ignored`)", body = WebhookAccepted),
              (status = 200, description = "this `webhook-id` was accepted before", body = WebhookDuplicate),
              (status = 400, description = "a body that is not the event described (not JSON, not an object, a bad `type` or `data.employee_id`)", body = ErrorBody),
              (status = 401, description = "a bad or missing signature, webhook-id or webhook-timestamp, or a timestamp outside ±5 minutes", body = ErrorBody),
              (status = 408, description = "the body did not arrive within HTTP_REQUEST_TIMEOUT", body = ErrorBody),
              (status = 413, description = "the body is larger than 256 KiB", body = ErrorBody),
              (status = 415, description = "a body that is not application/json", body = ErrorBody),
              (status = 500, description = "an unexpected failure while recording it; retry", body = ErrorBody),
              (status = 503, description = "not configured (no WEBHOOK_SECRET), or NATS or Postgres cannot take it now; retry", body = ErrorBody),
              WebhookRateLimited))]
async fn receive_webhook(State(state): State<AppState>, request: Request) -> Response {
    // Split, not extracted: the `HeaderMap` extractor would clone every header.
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // One deadline for the whole request (this route is outside `TimeoutLayer`): the body read
    // and every database write below share it. The publish is bounded by JetStream's ack timeout.
    let deadline = Instant::now() + state.config.request_timeout;
    match handle(&state, &headers, body, deadline).await {
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
                let delivery =
                    Delivery { webhook_id, reason: Some(r.reason), ..Delivery::new(WebhookOutcome::Rejected) };
                let until = deadline.max(Instant::now() + REJECTION_RECORD_GRACE);
                if let Err(e) = record(&state, &delivery, until).await {
                    tracing::warn!(error = %e, "could not record a rejected webhook");
                }
            }
            r.error.into_response()
        }
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body, deadline: Instant) -> Result<Response, Rejection> {
    let config = &state.config;
    if config.webhook_secrets.is_empty() {
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
    let id = webhook_signature::verify(&config.webhook_secrets, signed, &body, now.timestamp())
        .map_err(|e| reject(AppError::Unauthorized(e.to_string()), "signature"))?;
    let event = parse_event(&body)?;
    // The company `data.company_id` names, when it is one of ours; else the first version's
    // company (or the only one); `None` when no company is registered yet.
    let company =
        event.company_id.filter(|id| state.companies.get(*id).is_some()).or_else(|| state.companies.default_company());
    // Counted per sending company once the sender proved it holds a secret.
    state.limits.webhook(company).map_err(|e| reject(e, RATE_LIMITED))?;

    let delivery = |outcome| Delivery {
        company_id: company,
        webhook_id: Some(id),
        event_type: Some(event.kind.as_str()),
        employee_id: event.employee_id,
        ..Delivery::new(outcome)
    };
    let targeted = EMPLOYEE_EVENTS.contains(&event.kind.as_str());
    let acted_on = targeted || event.kind == COMPANY_SYNC;
    let Some(company) = company.filter(|_| acted_on) else {
        if !record(state, &delivery(WebhookOutcome::Ignored), deadline).await.map_err(db_unavailable)? {
            return Ok(duplicate(state, &delivery(WebhookOutcome::Duplicate), deadline).await);
        }
        count(WebhookOutcome::Ignored);
        return Ok(accepted(id, Some(true)));
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
        return Ok(duplicate(state, &delivery(WebhookOutcome::Duplicate), deadline).await);
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
/// stalled database must not hold the request.
async fn record(state: &AppState, d: &Delivery<'_>, deadline: Instant) -> sqlx::Result<bool> {
    tokio::time::timeout_at(deadline, webhooks::record(&state.db, d)).await.unwrap_or_else(|_| {
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

struct WebhookEvent {
    kind: String,
    employee_id: Option<Uuid>,
    /// `data.company_id` when it is a UUID.
    company_id: Option<Uuid>,
}

/// The raw text of the named members of a JSON object, in one pass and borrowed from the input;
/// other members are skipped unparsed, and a repeated name keeps its last value (as with a
/// `serde_json::Value`).
struct Members<const N: usize>([&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Members<N> {
    type Value = [Option<&'de RawValue>; N];

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for Members<N> {
    type Value = [Option<&'de RawValue>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(key) = map.next_key::<Cow<str>>()? {
            match self.0.iter().position(|name| *name == key) {
                Some(i) => found[i] = Some(map.next_value()?),
                None => map.next_value::<IgnoredAny>().map(drop)?,
            }
        }
        Ok(found)
    }
}

/// `Members` of one whole JSON text (nothing may follow it).
fn members<'a, const N: usize>(
    json: &'a [u8],
    names: [&'static str; N],
) -> serde_json::Result<[Option<&'a RawValue>; N]> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let found = Members(names).deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

fn parse_event(body: &[u8]) -> Result<WebhookEvent, Rejection> {
    let bad = |m: &str| reject(AppError::BadRequest(m.to_string()), "malformed");
    // Only an object is an event; anything else says whether it is JSON at all.
    let is_object = |text: &[u8]| text.trim_ascii_start().first() == Some(&b'{');
    if !is_object(body) {
        let valid = serde_json::from_slice::<&RawValue>(body).is_ok();
        return Err(bad(if valid { "body must be a JSON object" } else { "body is not valid JSON" }));
    }
    let [kind, data] = members(body, ["type", "data"]).map_err(|_| bad("body is not valid JSON"))?;
    let kind = kind
        .and_then(|raw| serde_json::from_str::<Cow<str>>(raw.get()).ok())
        .filter(|t| !t.is_empty() && t.len() <= 100 && t.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| bad("missing or invalid `type`"))?
        .into_owned();
    let [employee_id, company_id] = match data {
        Some(raw) if is_object(raw.get().as_bytes()) => {
            members(raw.get().as_bytes(), ["employee_id", "company_id"]).map_err(|_| bad("body is not valid JSON"))?
        }
        _ => [None, None],
    };
    // `data.company_id` routes the event when it names a company of this deployment (never checked).
    let company_id = company_id
        .and_then(|raw| serde_json::from_str::<Cow<str>>(raw.get()).ok())
        .and_then(|id| Uuid::parse_str(&id).ok());
    // Only an employee event is about an employee: other types' `data.employee_id` is not read (nor checked).
    if !EMPLOYEE_EVENTS.contains(&kind.as_str()) {
        return Ok(WebhookEvent { kind, employee_id: None, company_id });
    }
    let employee_id = match employee_id.map(RawValue::get) {
        None | Some("null") => None,
        Some(raw) => {
            let id: Cow<str> = serde_json::from_str(raw).map_err(|_| bad("data.employee_id must be a string"))?;
            // The hyphenated form only, as the document's pattern says (`parse_str` also takes
            // the simple, braced and URN forms, which are shorter or longer).
            let hyphenated = id.len() == 36;
            Some(
                Uuid::parse_str(&id)
                    .ok()
                    .filter(|_| hyphenated)
                    .ok_or_else(|| bad("data.employee_id is not a UUID"))?,
            )
        }
    };
    let employee_id = employee_id.ok_or_else(|| bad("missing data.employee_id"))?;
    Ok(WebhookEvent { kind, employee_id: Some(employee_id), company_id })
}

/// Looked up by `HeaderName` (a `&str` name would be parsed again on every lookup).
fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Result<(String, Option<Uuid>), String> {
        parse_event(body.as_bytes()).map(|e| (e.kind, e.employee_id)).map_err(|r| match r.error {
            AppError::BadRequest(m) => m,
            other => panic!("unexpected {other:?}"),
        })
    }

    #[test]
    fn events_parse_with_unknown_fields_escapes_and_null_ids() {
        let id = "0b7d7c8e-1111-4222-8333-944455556666";
        let body = format!(r#" {{"id":1,"type":"employee.upd\u0061ted","data":{{"x":[1],"employee_id":"{id}"}}}}"#);
        assert_eq!(message(&body), Ok(("employee.updated".into(), Some(id.parse().unwrap()))));
        assert_eq!(message(r#"{"type":"company.sync_requested","data":{"employee_id":null}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"company.sync_requested","data":["not","an","object"]}"#).unwrap().1, None);
        // Only employee events are read for an employee: other types' `data` is not checked.
        assert_eq!(message(r#"{"type":"company.sync_requested","data":{"employee_id":""}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"payrun.done","data":{"employee_id":7}}"#).unwrap().1, None);
        assert_eq!(message(r#"{"type":"something.else"}"#), Ok(("something.else".into(), None)));
        // A repeated key keeps its last value, at both levels (valid JSON, as before).
        let repeated =
            format!(r#"{{"type":7,"type":"employee.created","data":{{"employee_id":"x","employee_id":"{id}"}}}}"#);
        assert_eq!(message(&repeated), Ok(("employee.created".into(), Some(id.parse().unwrap()))));
        // An escape inside the id is decoded, not compared raw.
        let escaped =
            r#"{"type":"employee.created","data":{"employee_id":"0b7d7c8e-1111-4222-8333-94445555666\u0036"}}"#;
        assert_eq!(message(escaped).unwrap().1, Some(id.parse().unwrap()));
    }

    #[test]
    fn each_malformed_body_gets_its_own_message() {
        let cases = [
            ("", "body is not valid JSON"),
            ("{\"type\": ", "body is not valid JSON"),
            ("[1,2", "body is not valid JSON"),
            (r#"{"type":"a"} x"#, "body is not valid JSON"),
            ("[1,2,3]", "body must be a JSON object"),
            (r#""hello""#, "body must be a JSON object"),
            (r#"{"data":{}}"#, "missing or invalid `type`"),
            (r#"{"type":7}"#, "missing or invalid `type`"),
            (r#"{"type":null}"#, "missing or invalid `type`"),
            (r#"{"type":"employee updated"}"#, "missing or invalid `type`"),
            (r#"{"type":"employee.updated","data":{}}"#, "missing data.employee_id"),
            (r#"{"type":"employment.created"}"#, "missing data.employee_id"),
            (r#"{"type":{"employee":"updated"}}"#, "missing or invalid `type`"),
            (r#"{"type":["employee.updated"]}"#, "missing or invalid `type`"),
            (
                r#"{"type":"employee.updated","data":"0b7d7c8e-1111-4222-8333-944455556666"}"#,
                "missing data.employee_id",
            ),
            (r#"{"type":"employee.updated","data":7}"#, "missing data.employee_id"),
            (r#"{"type":"employee.updated","data":{"employee_id":null}}"#, "missing data.employee_id"),
            (r#"{"type":"employee.updated","data":{"employee_id":12}}"#, "data.employee_id must be a string"),
            (r#"{"type":"employee.updated","data":{"employee_id":{"id":"x"}}}"#, "data.employee_id must be a string"),
            (r#"{"type":"employee.updated","data":{"employee_id":"a"#, "body is not valid JSON"),
            (r#"{"type":"employee.updated","data":{"employee_id":"nope"}}"#, "data.employee_id is not a UUID"),
            (
                r#"{"type":"employee.updated","data":{"employee_id":"0b7d7c8e111142228333944455556666"}}"#,
                "data.employee_id is not a UUID",
            ),
            (
                r#"{"type":"employee.updated","data":{"employee_id":"{0b7d7c8e-1111-4222-8333-944455556666}"}}"#,
                "data.employee_id is not a UUID",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(message(body), Err(expected.to_string()), "{body}");
        }
    }
}
