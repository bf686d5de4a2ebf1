//! One endpoint as a replica serves it: its row, where it points, its signing keys, the token
//! that stops its loops, its attempts-log writer, what this replica knows of its health, and its
//! metric handles (made once, not per delivery).

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
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
    pub pace: Pace,
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

/// How long the endpoint's attempts take of late (a moving average over about the last 16, in
/// µs; races between slots only blur it), and from it how deep a pull loop may ask: as many
/// messages as its slots finish within [`PULL_AHEAD`], between half the slots (where it starts,
/// before any attempt was timed) and [`MOST_AHEAD_PER_SLOT`] per slot. A message asked for waits
/// so at most about [`PULL_AHEAD`] for its slot (and then gets its ack wait restarted), far within
/// the ack wait, whatever the endpoint's pace.
#[derive(Debug, Default)]
pub struct Pace(AtomicU64);

/// A duration in whole µs, as the wait counters and [`Pace`] count (saturating).
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// How long the messages a pull loop asked for may take the endpoint's slots.
pub const PULL_AHEAD: Duration = Duration::from_secs(2);
/// The deepest pull, per slot.
pub const MOST_AHEAD_PER_SLOT: usize = 8;

impl Pace {
    pub fn record(&self, took: Duration) {
        let took = micros(took).max(1);
        let before = self.0.load(Ordering::Relaxed);
        let after = if before == 0 { took } else { before - before / 16 + took / 16 };
        self.0.store(after.max(1), Ordering::Relaxed);
    }

    /// How many messages a pull loop of an endpoint with `slots` slots may ask for.
    pub fn depth(&self, slots: usize) -> usize {
        let least = (slots / 2).max(1);
        let most = slots * MOST_AHEAD_PER_SLOT;
        match self.0.load(Ordering::Relaxed) {
            0 => least,
            us => {
                let per_slot = PULL_AHEAD.as_micros() as u64 / us;
                usize::try_from(per_slot).unwrap_or(usize::MAX).saturating_mul(slots).clamp(least, most)
            }
        }
    }
}

/// The endpoint's metrics: attempt latency, deliveries by outcome, and where its pull loops wait
/// (`employes_sync_endpoint_wait_microseconds_total`, by `on`: `message` — a slot is free and no
/// message is there; `slot` — a message waits for one of the `ENDPOINT_CONCURRENCY` slots; `held`
/// — every message this replica may hold is being logged or settled; `log` — a delivery waits for
/// its attempt's commit).
pub struct Meters {
    pub attempt_seconds: Histogram,
    pub waited_message: Counter,
    pub waited_slot: Counter,
    pub waited_held: Counter,
    pub waited_log: Counter,
    delivered: Counter,
    retried: Counter,
    failed: Counter,
    gone: Counter,
}

impl Meters {
    pub fn new(endpoint: uuid::Uuid) -> Meters {
        let id = endpoint.to_string();
        let outcome = |o: &'static str| metrics::counter!("employes_sync_endpoint_deliveries_total", "endpoint" => id.clone(), "outcome" => o);
        let waited = |on: &'static str| metrics::counter!("employes_sync_endpoint_wait_microseconds_total", "endpoint" => id.clone(), "on" => on);
        Meters {
            attempt_seconds: metrics::histogram!("employes_sync_endpoint_attempt_seconds", "endpoint" => id.clone()),
            waited_message: waited("message"),
            waited_slot: waited("slot"),
            waited_held: waited("held"),
            waited_log: waited("log"),
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
    fn a_fast_endpoint_is_pulled_deep_and_a_slow_one_shallow() {
        let pace = Pace::default();
        assert_eq!(pace.depth(16), 8, "half the slots before any attempt was timed");
        pace.record(Duration::from_micros(600));
        assert_eq!(pace.depth(16), 16 * MOST_AHEAD_PER_SLOT, "sub-millisecond attempts: the deepest pull");
        for _ in 0..200 {
            pace.record(Duration::from_millis(500));
        }
        assert_eq!(pace.depth(16), 64, "half-second attempts: what 16 slots finish in two seconds");
        for _ in 0..200 {
            pace.record(Duration::from_secs(15));
        }
        assert_eq!(pace.depth(16), 8, "attempts at the timeout: half the slots, no more");
    }

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
