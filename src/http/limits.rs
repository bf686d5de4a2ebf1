//! Load limits on the HTTP surface, one replica's share: request rates per caller on `/api/*`
//! (`API_RATE_LIMIT`), webhook rates per sending company (`WEBHOOK_RATE_LIMIT`, never shared with
//! the API's), and the event streams a caller and the replica hold open (`SSE_MAX_PER_TOKEN`,
//! `SSE_MAX`). Beyond each: 429 with `Retry-After`, counted in
//! `employes_sync_rate_limited_total{family}`.
//!
//! The rates are `governor` keyed limiters (GCRA: a burst of the rate's size, then the rate) behind
//! [`api`], a small middleware of our own rather than `tower_governor`: the key is the caller the
//! bearer token authenticates (found once here and handed to the handler's [`Identity`]), the
//! webhook key is known only inside the handler, and the answer is the app's error JSON.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{AppState, Identity, listener::Peer, openapi};
use crate::{config::LimitsConfig, domain::Source, error::AppError};

/// Whom a limit counts against: the authenticated caller, else the peer address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A token's name or a JWT's e-mail address (two JWTs of one person are one caller).
    Identity(Source, String),
    /// A request without a valid token (behind a proxy, every such request is the proxy's).
    Peer(IpAddr),
    /// Neither (a request that did not come through [`super::listener::Listener`]).
    Unknown,
}

impl Caller {
    pub fn of(who: &Identity) -> Caller {
        Caller::Identity(who.source, who.name.clone())
    }
}

/// The limiters and stream slots of one replica (in [`AppState`]).
pub struct Limits {
    api: DefaultKeyedRateLimiter<Caller>,
    webhooks: DefaultKeyedRateLimiter<Option<Uuid>>,
    pub streams: Arc<StreamSlots>,
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Limits {
        let quota = |rate| Quota::per_second(rate).allow_burst(rate);
        Limits {
            api: DefaultKeyedRateLimiter::keyed(quota(config.api_rate)),
            webhooks: DefaultKeyedRateLimiter::keyed(quota(config.webhook_rate)),
            streams: Arc::new(StreamSlots {
                per_caller: config.streams_per_caller,
                max: config.streams,
                open: Mutex::default(),
            }),
        }
    }

    /// `Ok` when `caller` may make another API request now; else 429 `rate_limited`.
    pub fn api(&self, caller: &Caller) -> Result<(), AppError> {
        check(&self.api, caller, "api")
    }

    /// `Ok` when `company` (`None`: a webhook for no company of ours) may send another webhook now.
    pub fn webhook(&self, company: Option<Uuid>) -> Result<(), AppError> {
        check(&self.webhooks, &company, "webhooks")
    }

    /// Forget the callers and companies that are back to a full burst, every minute until
    /// `shutdown` (a keyed limiter keeps a cell per key it has seen).
    pub async fn run_sweeper(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {
                    self.api.retain_recent();
                    self.api.shrink_to_fit();
                    self.webhooks.retain_recent();
                    self.webhooks.shrink_to_fit();
                }
            }
        }
    }
}

fn check<K: Clone + Eq + std::hash::Hash>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    family: &'static str,
) -> Result<(), AppError> {
    limiter.check_key(key).map_err(|not_until| {
        rejected(family);
        AppError::RateLimited(not_until.wait_time_from(limiter.clock().now()))
    })
}

/// Counts one request refused by a limit of `family` (`api`, `webhooks`, `streams`).
fn rejected(family: &'static str) {
    metrics::counter!("employes_sync_rate_limited_total", "family" => family).increment(1);
}

/// The API's rate limit, in front of every `/api/*` route but Swagger UI's pages: the caller is
/// authenticated once here (the handler's [`Identity`] is this one) and counted; a request
/// without a valid token counts against its peer address (and is then refused 401 by its handler,
/// or served when it is one of the two documents).
pub async fn api(State(state): State<AppState>, mut request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") || path.starts_with(openapi::DOCS_PATH) {
        return next.run(request).await;
    }
    let caller = match super::auth::identify(&state, request.headers()) {
        Ok(who) => {
            let caller = Caller::of(&who);
            request.extensions_mut().insert(who);
            caller
        }
        Err(_) => request
            .extensions()
            .get::<ConnectInfo<Peer>>()
            .map_or(Caller::Unknown, |ConnectInfo(Peer(addr))| Caller::Peer(addr.ip())),
    };
    match state.limits.api(&caller) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

/// The event streams open on this replica, by caller.
pub struct StreamSlots {
    per_caller: usize,
    max: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_caller: HashMap<Caller, usize>,
}

/// One open stream: its slot is given back when this is dropped (the stream ended or its client left).
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    caller: Caller,
}

impl StreamSlots {
    /// A slot for one more stream of `caller`; 429 `too_many_streams` when the caller has
    /// `SSE_MAX_PER_TOKEN` open already or the replica `SSE_MAX`.
    pub fn open(self: &Arc<Self>, caller: Caller) -> Result<StreamSlot, AppError> {
        let mut open = self.open.lock().expect("the stream slots are never poisoned");
        let mine = open.by_caller.get(&caller).copied().unwrap_or(0);
        let refused = if mine >= self.per_caller {
            Some(format!("this caller has {mine} event streams open (SSE_MAX_PER_TOKEN)"))
        } else if open.total >= self.max {
            Some(format!("this replica has {} event streams open (SSE_MAX)", open.total))
        } else {
            None
        };
        if let Some(message) = refused {
            rejected("streams");
            return Err(AppError::TooManyStreams(message));
        }
        open.total += 1;
        *open.by_caller.entry(caller.clone()).or_insert(0) += 1;
        metrics::gauge!("employes_sync_streams_open").set(open.total as f64);
        Ok(StreamSlot { slots: self.clone(), caller })
    }

    /// Streams open now (all callers).
    pub fn total(&self) -> usize {
        self.open.lock().expect("the stream slots are never poisoned").total
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().expect("the stream slots are never poisoned");
        open.total -= 1;
        if let Some(n) = open.by_caller.get_mut(&self.caller) {
            *n -= 1;
            if *n == 0 {
                open.by_caller.remove(&self.caller);
            }
        }
        metrics::gauge!("employes_sync_streams_open").set(open.total as f64);
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limits(api: u32, per_caller: usize, max: usize) -> Limits {
        let rate = NonZeroU32::new(api).unwrap();
        Limits::new(&LimitsConfig { api_rate: rate, webhook_rate: rate, streams_per_caller: per_caller, streams: max })
    }

    #[test]
    fn a_caller_gets_its_burst_then_429_with_a_wait_and_another_caller_is_not_affected() {
        // Arrange
        let limits = limits(5, 1, 1);
        let (a, b) = (Caller::Identity(Source::Api, "a".into()), Caller::Identity(Source::Api, "b".into()));
        // Act
        let burst: Vec<bool> = (0..6).map(|_| limits.api(&a).is_ok()).collect();
        // Assert
        assert_eq!(burst, [true, true, true, true, true, false]);
        let Err(AppError::RateLimited(wait)) = limits.api(&a) else { panic!("a is limited") };
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
        assert!(limits.api(&b).is_ok());
        assert!(limits.webhook(None).is_ok(), "webhooks count apart from the API");
    }

    #[test]
    fn stream_slots_are_bounded_per_caller_and_per_replica_and_given_back_on_drop() {
        // Arrange
        let limits = limits(50, 2, 3);
        let (a, b) = (Caller::Peer([127, 0, 0, 1].into()), Caller::Identity(Source::Manual, "x@y.z".into()));
        // Act
        let a1 = limits.streams.open(a.clone()).unwrap();
        let _a2 = limits.streams.open(a.clone()).unwrap();
        let third_of_a = limits.streams.open(a.clone());
        let _b1 = limits.streams.open(b.clone()).unwrap();
        let fourth = limits.streams.open(b.clone());
        drop(a1);
        // Assert
        assert!(matches!(third_of_a, Err(AppError::TooManyStreams(m)) if m.contains("SSE_MAX_PER_TOKEN")));
        assert!(matches!(fourth, Err(AppError::TooManyStreams(m)) if m.contains("SSE_MAX")));
        assert_eq!(limits.streams.total(), 2);
        assert!(limits.streams.open(a).is_ok(), "a slot given back is free again");
    }
}
