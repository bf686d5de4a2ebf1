//! Standard-Webhooks signed delivery of simulator events.

use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret as _;
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::{Shared, WebhookTarget};

/// Retries after the first attempt.
const RETRIES: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>` with key = base64 of the
/// part after `whsec_` (the prefix is optional).
pub fn sign_webhook(secret_whsec: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> anyhow::Result<String> {
    let encoded = secret_whsec.strip_prefix("whsec_").unwrap_or(secret_whsec);
    let key = STANDARD.decode(encoded.trim()).context("webhook secret is not valid base64 after whsec_")?;
    anyhow::ensure!(!key.is_empty(), "webhook secret is empty");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).context("webhook secret unusable")?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Sends `event` for `employee_id` in the background when a target is configured.
pub(crate) fn notify(s: &Shared, event: &'static str, employee_id: Uuid) {
    let target = s.webhook.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let Some(target) = target else {
        return;
    };
    let body = json!({
        "type": event,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": { "company_id": s.company_id, "employee_id": employee_id },
    })
    .to_string();
    let http = s.http.clone();
    let shutdown = s.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = deliver(&http, &target, body, event) => {}
            () = shutdown.cancelled() => {}
        }
    });
}

async fn deliver(http: &reqwest::Client, target: &WebhookTarget, body: String, event: &str) {
    let msg_id = format!("msg_{}", Uuid::new_v4());
    let mut backoff = FIRST_BACKOFF;
    for attempt in 0..=RETRIES {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match sign_webhook(target.secret.expose_secret(), &msg_id, timestamp, body.as_bytes()) {
            Ok(sig) => sig,
            Err(e) => {
                tracing::warn!(error = %e, "sim: cannot sign webhook; not sent");
                return;
            }
        };
        let result = http
            .post(&target.url)
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match result {
            Ok(resp) => {
                let status = resp.status();
                if status.is_server_error() || status.as_u16() == 429 {
                    tracing::debug!(%msg_id, event, attempt, %status, "sim: webhook rejected, retrying");
                    continue;
                }
                tracing::debug!(%msg_id, event, attempt, %status, "sim: webhook delivered");
                return;
            }
            Err(e) => {
                tracing::debug!(%msg_id, event, attempt, error = %e.without_url(), "sim: webhook failed");
            }
        }
    }
    tracing::warn!(%msg_id, event, "sim: webhook given up after retries");
}
