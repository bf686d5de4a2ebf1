//! The one signed-webhook sender of tests and benchmarks: a Standard Webhooks delivery signed
//! by the service's own signer (`employes_sync::webhook_signature::WebhookKey`; a known-answer
//! test of the spec's example pins that signer independently).

use std::time::Duration;

use employes_sync::webhook_signature::WebhookKey;
use serde_json::{Value, json};

use crate::{WEBHOOK_SECRET, http::reply, poll::poll};

/// The key services under test verify with.
fn kit_key() -> WebhookKey {
    WebhookKey::from_whsec(WEBHOOK_SECRET).expect("the kit's secret is a valid whsec_ secret")
}

/// Where webhooks go: an HTTP client and the service's `/webhooks/employes` URL.
pub trait Receiver {
    fn http(&self) -> &reqwest::Client;
    fn webhook_url(&self) -> String;
}

/// One delivery as it goes on the wire; every part may be edited to make a bad one.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub id: String,
    pub ts: String,
    pub signature: String,
    /// `None`: no `content-type` header.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// A header left out (`webhook-id`, `webhook-timestamp` or `webhook-signature`).
    pub omit: Option<&'static str>,
}

/// How a [`Webhook::deliver`] ended: the accepting answer and how many sends it took.
#[derive(Debug)]
pub struct Delivered {
    pub status: u16,
    pub body: Value,
    pub attempts: usize,
}

impl Webhook {
    /// `body` under id `id`, timestamped now and signed with the key of [`WEBHOOK_SECRET`].
    pub fn with_id(id: String, body: Vec<u8>) -> Webhook {
        let ts = chrono::Utc::now().timestamp().to_string();
        let mut w =
            Webhook { id, ts, signature: String::new(), content_type: Some("application/json"), body, omit: None };
        w.sign_with(&kit_key());
        w
    }

    /// `body` under a fresh `msg_…` id.
    pub fn signed(body: Vec<u8>) -> Webhook {
        Webhook::with_id(format!("msg_{}", uuid::Uuid::new_v4().simple()), body)
    }

    /// An Employes event of type `kind` about `employee`, naming no company (so it is the only
    /// company's).
    pub fn event(kind: &str, employee: &str) -> Webhook {
        let body = json!({"type": kind, "timestamp": "2026-11-25T10:00:00Z", "data": {"employee_id": employee}});
        Webhook::signed(serde_json::to_vec(&body).unwrap())
    }

    /// Sign again with `key`, over the current id, timestamp (0 when it is not a number) and body.
    pub fn sign_with(&mut self, key: &WebhookKey) {
        self.signature = key.sign(&self.id, self.ts.parse().unwrap_or(0), &self.body);
    }

    /// [`Webhook::sign_with`] the kit's key, for chaining after an edit.
    pub fn resigned(mut self) -> Webhook {
        self.sign_with(&kit_key());
        self
    }

    /// The POST of this delivery to `url`, ready to send.
    pub fn request(&self, http: &reqwest::Client, url: &str) -> reqwest::RequestBuilder {
        let mut req = http.post(url).body(self.body.clone());
        for (name, value) in
            [("webhook-id", &self.id), ("webhook-timestamp", &self.ts), ("webhook-signature", &self.signature)]
        {
            if self.omit != Some(name) {
                req = req.header(name, value);
            }
        }
        match self.content_type {
            Some(ct) => req.header("content-type", ct),
            None => req,
        }
    }

    /// Deliver once; returns the status and the JSON answer.
    pub async fn send(&self, to: &impl Receiver) -> (u16, Value) {
        reply(self.request(to.http(), &to.webhook_url()).send().await.unwrap()).await
    }

    /// Deliver like Employes does: resend (every 200 ms) after a 503 or a failed connection
    /// until accepted (202) or known (200 duplicate); any other answer, or still no acceptance
    /// after `within`, fails the test.
    pub async fn deliver(&self, to: &impl Receiver, within: Duration) -> Delivered {
        let (http, url) = (to.http(), to.webhook_url());
        let mut attempts = 0;
        let accepted = poll(within, Duration::from_millis(200), async || {
            attempts += 1;
            let answer = match self.request(http, &url).send().await {
                Ok(resp) => reply(resp).await,
                Err(e) => return Err(e.to_string()),
            };
            match answer {
                (status @ (200 | 202), body) => Ok((status, body)),
                (503, body) => Err(format!("503 {body}")),
                (status, body) => panic!("webhook {} answered {status}: {body}", self.id),
            }
        })
        .await;
        let (status, body) = accepted.unwrap_or_else(|e| panic!("webhook {} not accepted: {e}", self.id));
        Delivered { status, body, attempts }
    }
}
