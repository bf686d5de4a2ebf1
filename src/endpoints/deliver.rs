//! One delivery attempt: the event's CloudEvent JSON POSTed as it is, signed per Standard Webhooks
//! (`webhook-id` = the event id, one `v1,` signature per live secret), answered within the
//! attempt timeout or not at all.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};

use super::{
    address::refused,
    guard::literal_ip,
    retry::{Response, parse_retry_after},
};
use crate::webhook_signature::WebhookKey;

/// The content type of an event in CloudEvents' structured mode.
pub const CONTENT: &str = "application/cloudevents+json";

/// The Standard Webhooks headers, named once (a `&str` name is parsed on every request).
const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");

/// What is sent: where, signed with which keys (the current secret first).
pub struct Target<'a> {
    pub url: &'a reqwest::Url,
    pub keys: &'a [WebhookKey],
    pub allow_private: bool,
}

/// How an attempt went: the receiver's answer (or none, with why) and how long it took.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub response: Response,
    pub status: Option<u16>,
    /// Why it failed, in words without the body or any secret.
    pub error: Option<String>,
    pub took: Duration,
}

/// `webhook-signature`: a `v1,` signature per key, space-separated.
pub fn signatures(keys: &[WebhookKey], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter().map(|k| k.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// POST `body` (the event, as it was published) to the target.
pub async fn attempt(client: &reqwest::Client, target: &Target<'_>, event_id: &str, body: Bytes) -> Attempted {
    let started = Instant::now();
    let failed = |error: String| Attempted {
        response: Response::NoAnswer,
        status: None,
        error: Some(error),
        took: started.elapsed(),
    };
    if !target.allow_private
        && let Some(why) = literal_ip(target.url).and_then(refused)
    {
        return failed(format!("refused: the endpoint's address is {why}"));
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signatures(target.keys, event_id, timestamp, &body);
    let sent = client
        .post(target.url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static(CONTENT))
        .header(WEBHOOK_ID, event_id)
        .header(WEBHOOK_TIMESTAMP, HeaderValue::from(timestamp))
        .header(WEBHOOK_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed("no answer within the attempt timeout".into()),
        Err(e) if e.is_connect() => return failed(format!("could not connect ({})", root_cause(&e))),
        Err(e) => return failed(format!("request failed ({})", root_cause(&e))),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
    // Read (and drop) a little of the body so the connection can be reused; it is never stored.
    let _ = tokio::time::timeout(Duration::from_secs(1), response.bytes()).await;
    let error = match status {
        200..=299 => None,
        300..=399 => Some(format!("HTTP {status}: redirects are not followed")),
        _ => Some(format!("HTTP {status}")),
    };
    Attempted {
        response: Response::Status { status, retry_after },
        status: Some(status),
        error,
        took: started.elapsed(),
    }
}

/// The innermost cause of a client error, which names what went wrong (refused, reset, a
/// resolver's refusal) without the URL's query.
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_live_secret_adds_a_signature_that_verifies_alone() {
        let (old, new) = (WebhookKey::new(b"an old key of sixteen"), WebhookKey::new(b"a new key of sixteen!"));
        let header = signatures(&[new.clone(), old.clone()], "evt", 1_700_000_000, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [new.sign("evt", 1_700_000_000, b"{}"), old.sign("evt", 1_700_000_000, b"{}")]);
        let headers = crate::webhook_signature::SignedHeaders {
            id: Some("evt"),
            timestamp: Some("1700000000"),
            signature: Some(&header),
        };
        for key in [old, new] {
            assert!(crate::webhook_signature::verify(&[key], headers, b"{}", 1_700_000_000).is_ok());
        }
    }
}
