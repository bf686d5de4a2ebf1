//! A subscriber's HTTP receiver for the tests: records every delivery (headers, body, when) and
//! answers from a script (then 200), checking signatures independently of the service's signer.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

/// How the receiver answers one delivery.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// This status with `Retry-After: <secs>`.
    RetryAfter(u16, u64),
    /// Answer 200 only after this long (a slow receiver).
    Hang(Duration),
}

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Seen {
    pub fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Does one of the `v1,` signatures verify with `secret`? HMAC-SHA256 over
    /// `{id}.{timestamp}.{body}`, written here from the Standard Webhooks spec (not the service's code).
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

pub struct TestReceiver {
    pub addr: SocketAddr,
    shared: Shared,
}

impl TestReceiver {
    /// Listening on `127.0.0.1:0`; answers `script` in order, then 200.
    pub async fn start(script: Vec<Reply>) -> TestReceiver {
        let shared = Shared { script: Arc::new(Mutex::new(script.into())), ..Default::default() };
        let state = shared.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { receive(state, headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        TestReceiver { addr, shared }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Wait until `n` deliveries arrived (or fail after `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Seen> {
        crate::helpers::eventually("deliveries arrive", within, async || {
            let seen = self.seen();
            if seen.len() >= n { Ok(seen) } else { Err(format!("{} of {n}", seen.len())) }
        })
        .await
    }
}

async fn receive(state: Shared, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    state.seen.lock().unwrap().push(Seen {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        content_type: header("content-type"),
        body: body.to_vec(),
        at: Instant::now(),
    });
    let reply = state.script.lock().unwrap().pop_front();
    match reply {
        None => StatusCode::OK.into_response(),
        Some(Reply::Status(s)) => StatusCode::from_u16(s).unwrap().into_response(),
        Some(Reply::RetryAfter(s, secs)) => {
            (StatusCode::from_u16(s).unwrap(), [("retry-after", secs.to_string())]).into_response()
        }
        Some(Reply::Hang(d)) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    }
}
