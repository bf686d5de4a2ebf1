//! Standard-Webhooks signed delivery of simulator events.

use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde_json::json;
use uuid::Uuid;

use super::Shared;
use super::company::Company;
use crate::webhook_signature::WebhookKey;

/// Retries after the first attempt.
const RETRIES: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Where one webhook goes and what signs it.
struct Delivery {
    url: String,
    key: WebhookKey,
}

/// Sends `event` for `employee_id` of `company` in the background when a target is
/// configured: to the target URL with `{company_id}` replaced, signed with the company's own
/// secret or else the simulator-wide one.
pub(crate) fn notify(s: &Shared, company: &Company, event: &'static str, employee_id: Uuid) {
    let target = s.webhook.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
    let Some(target) = target else {
        return;
    };
    let Some(secret) = company.webhook_secret.as_ref().or(target.secret.as_ref()) else {
        tracing::warn!(company_id = %company.id, "sim: no webhook secret for the company; webhook not sent");
        return;
    };
    let key = match WebhookKey::from_whsec(secret.expose_secret()) {
        Ok(key) => key,
        Err(e) => {
            tracing::warn!(error = %e, "sim: cannot sign webhook; not sent");
            return;
        }
    };
    let delivery = Delivery { url: target.url.replace("{company_id}", &company.id.to_string()), key };
    let body = json!({
        "type": event,
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": { "company_id": company.id, "employee_id": employee_id },
    })
    .to_string();
    let http = s.http.clone();
    let shutdown = s.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = deliver(&http, &delivery, body, event) => {}
            () = shutdown.cancelled() => {}
        }
    });
}

async fn deliver(http: &reqwest::Client, target: &Delivery, body: String, event: &str) {
    let key = &target.key;
    let msg_id = format!("msg_{}", Uuid::new_v4());
    let mut backoff = FIRST_BACKOFF;
    for attempt in 0..=RETRIES {
        if attempt > 0 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = key.sign(&msg_id, timestamp, body.as_bytes());
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
