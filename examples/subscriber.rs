//! A subscriber's HTTP receiver for employes-sync endpoints (outbound webhooks), as
//! `docs/subscribers.md` describes it: verify the Standard Webhooks signature, refuse stale
//! timestamps, answer fast, and handle each event once by its `webhook-id` (the CloudEvent `id`:
//! the same on every retry and replay).
//!
//! ```text
//! ENDPOINT_SECRET=whsec_... cargo run --example subscriber     # listens on 127.0.0.1:8787
//! curl -X POST .../api/endpoints -d '{"url":"https://you.example/hook","types":["salary_change"]}'
//! ```
//!
//! It uses only `axum`, `hmac`, `sha2`, `base64`, `subtle` and `serde_json`: nothing of
//! employes-sync itself. The suite runs it as a real endpoint (`tests/integration/endpoints/guide.rs`).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// Timestamps further than this from now are refused (replayed captures).
const TOLERANCE_SECS: i64 = 5 * 60;

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    MissingHeader(&'static str),
    StaleTimestamp,
    BadSignature,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::MissingHeader(name) => write!(f, "no {name} header"),
            Refused::StaleTimestamp => f.write_str("webhook-timestamp is not within 5 minutes of now"),
            Refused::BadSignature => f.write_str("no signature by our endpoint secret"),
        }
    }
}

/// Standard Webhooks: HMAC-SHA256 of `{id}.{timestamp}.{body}` under the base64 key after
/// `whsec_`; any of the space-separated `v1,<base64>` signatures may match (after a rotation the
/// service signs with the old and the new secret for 24 h).
pub fn verify(key: &[u8], headers: &HeaderMap, body: &[u8], now: i64) -> Result<String, Refused> {
    let header =
        |name: &'static str| headers.get(name).and_then(|v| v.to_str().ok()).ok_or(Refused::MissingHeader(name));
    let (id, timestamp, signatures) =
        (header("webhook-id")?, header("webhook-timestamp")?, header("webhook-signature")?);
    let at: i64 = timestamp.parse().map_err(|_| Refused::StaleTimestamp)?;
    if (now - at).abs() > TOLERANCE_SECS {
        return Err(Refused::StaleTimestamp);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let matches = signatures
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| STANDARD.decode(s).ok())
        .any(|given| bool::from(given.as_slice().ct_eq(expected.as_slice())));
    if matches { Ok(id.to_string()) } else { Err(Refused::BadSignature) }
}

/// The receiver's state: its key, and the ids it has handled (a real one keeps them in its
/// database, in the transaction that handles the event).
#[derive(Clone)]
pub struct Receiver {
    key: Arc<Vec<u8>>,
    handled: Arc<Mutex<HashSet<String>>>,
}

impl Receiver {
    /// `secret` is the `whsec_…` the endpoint's registration (or rotation) answered.
    pub fn new(secret: &str) -> Result<Receiver, String> {
        let encoded = secret.strip_prefix("whsec_").ok_or("the secret starts with whsec_")?;
        let key = STANDARD.decode(encoded).map_err(|e| format!("the secret is not base64: {e}"))?;
        Ok(Receiver { key: Arc::new(key), handled: Arc::default() })
    }

    pub fn router(self) -> Router {
        Router::new().route("/hook", post(receive)).with_state(self)
    }
}

/// 2xx = delivered (the service stops retrying); 401 for a forged or stale delivery; any other
/// answer is retried on the service's schedule, `410 Gone` disables the endpoint.
async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let now = chrono::Utc::now().timestamp();
    let id = match verify(&receiver.key, &headers, &body, now) {
        Ok(id) => id,
        Err(refused) => return (StatusCode::UNAUTHORIZED, refused.to_string()),
    };
    if !receiver.handled.lock().expect("not poisoned").insert(id) {
        return (StatusCode::OK, "duplicate".into());
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON".into());
    };
    // Handle it: skip `baseline` events (history found by a company's first sync) if only news
    // matters; order one employee's events by `sequence` (the same `partitionkey`).
    if event["baseline"] != true {
        println!(
            "{} {} for employee {} (sequence {})",
            event["id"], event["type"], event["subject"], event["sequence"]
        );
    }
    (StatusCode::OK, "handled".into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("ENDPOINT_SECRET").map_err(|_| "set ENDPOINT_SECRET to the endpoint's whsec_ secret")?;
    let addr = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8787".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{addr}/hook");
    axum::serve(listener, Receiver::new(&secret)?.router()).await?;
    Ok(())
}
