//! One endpoint as a replica serves it: its row, where it points, its signing keys, the token
//! that stops its loops, its attempts-log writer, what this replica knows of its health, and its
//! metric handles (made once, not per delivery).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use metrics::{Counter, Histogram};
use tokio_util::sync::CancellationToken;

use super::{journal::Journal, retry::Verdict};
use crate::{db::endpoints::EndpointRow, webhook_signature::WebhookKey};

/// How long a replica trusts that it cleared the endpoint's `failing_since`: a 2xx writes it
/// again when this long has passed (or an attempt failed since), not on every delivery. Another
/// replica's failure is so undone within this long of this replica's next success.
pub const HEALTH_REFRESH: Duration = Duration::from_secs(10);

pub struct Live {
    pub row: EndpointRow,
    pub url: reqwest::Url,
    /// The current key, then the previous one with the end of its overlap.
    pub current: WebhookKey,
    pub previous: Option<(WebhookKey, DateTime<Utc>)>,
    /// Fires when the endpoint is disabled or changed: its loops stop pulling.
    pub stop: CancellationToken,
    pub journal: Journal,
    pub health: Health,
    pub meters: Meters,
}

impl Live {
    pub fn keys(&self, now: DateTime<Utc>) -> Vec<WebhookKey> {
        let mut keys = vec![self.current.clone()];
        keys.extend(self.previous.iter().filter(|(_, until)| *until > now).map(|(k, _)| k.clone()));
        keys
    }
}

/// When this replica last cleared the endpoint's `failing_since` (`None`: not yet, or an attempt
/// failed since).
#[derive(Debug, Default)]
pub struct Health(Mutex<Option<Instant>>);

impl Health {
    /// After a 2xx: whether `failing_since` is to be cleared now (and it is taken as done).
    pub fn clear_due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < HEALTH_REFRESH) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// After a failed attempt (or a failed clear): the next 2xx clears again.
    pub fn failed(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The endpoint's metrics: attempt latency and deliveries by outcome.
pub struct Meters {
    pub attempt_seconds: Histogram,
    delivered: Counter,
    retried: Counter,
    failed: Counter,
    gone: Counter,
}

impl Meters {
    pub fn new(endpoint: uuid::Uuid) -> Meters {
        let id = endpoint.to_string();
        let outcome = |o: &'static str| metrics::counter!("employes_sync_endpoint_deliveries_total", "endpoint" => id.clone(), "outcome" => o);
        Meters {
            attempt_seconds: metrics::histogram!("employes_sync_endpoint_attempt_seconds", "endpoint" => id.clone()),
            delivered: outcome("delivered"),
            retried: outcome("retried"),
            failed: outcome("failed"),
            gone: outcome("gone"),
        }
    }

    pub fn outcome(&self, verdict: Verdict) -> &Counter {
        match verdict {
            Verdict::Delivered => &self.delivered,
            Verdict::Retry(_) => &self.retried,
            Verdict::GiveUp => &self.failed,
            Verdict::Gone => &self.gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_clears_failing_since_once_per_refresh_and_again_after_any_failure() {
        let health = Health::default();
        assert!(health.clear_due(), "the first 2xx clears");
        assert!(!health.clear_due(), "the next ones within the refresh do not");
        health.failed();
        assert!(health.clear_due(), "a failure in between makes the next 2xx clear again");
        *health.0.lock().unwrap() = Instant::now().checked_sub(HEALTH_REFRESH);
        assert!(health.clear_due(), "and so does the refresh running out");
    }
}
