//! The watch: every company is checked every `watch_interval` (its own, else `WATCH_INTERVAL`;
//! `off` disables) by an incremental full sync of source `watch`, `triggered_by` `system`. When
//! nothing changed a watch costs the list pages plus the rolling history refresh share (see
//! `db::employees::history_due`), so frequent watching is the backbone of change detection; a
//! webhook only makes it faster.
//!
//! - Each company's slots are a fixed grid: every `interval`, at a phase that is a deterministic
//!   share of the interval from the company id (the same on every replica), so a thousand
//!   companies on one interval are spread over it.
//! - The first watch of a company is its first slot at least one interval after this replica
//!   started (or after the company appeared), and only once its first full sync has completed:
//!   the first full sync is the company's baseline, never a watch.
//! - Every replica runs it; the company's `watch_slots` row (moved forward by the replica that
//!   claims a slot) and the slot as the task's `Nats-Msg-Id` make each slot one watch.
//! - A watch due while a full sync of the company is queued or running joins it
//!   ([`crate::sync::open`]).
//! - Quiet watches (completed, nothing recorded, no error) are deleted after [`QUIET_KEPT`]
//!   ([`run_pruner`]); the session list hides them on request (`?quiet=false`).
//! - A slot missed by more than one interval (a replica stopped, the process was suspended) is
//!   skipped, not caught up.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bus::Bus,
    companies::Registry,
    db::{Db, sessions},
    domain::Source,
    scheduler::{Woke, wait_for_slot},
    sync::{SyncTrigger, request_sync},
};

/// How long a quiet watch session (nothing recorded, no error) is kept.
pub const QUIET_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How often quiet watch sessions past [`QUIET_KEPT`] are deleted (and once at start).
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Watches being requested at once by one replica.
const CONCURRENT_FIRES: usize = 32;

/// The company's phase within `interval`: a fixed share of it, from the company id.
pub fn phase(company: Uuid, interval: Duration) -> TimeDelta {
    let digest = Sha256::digest(company.as_bytes());
    let share = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) as f64 / u64::MAX as f64;
    TimeDelta::milliseconds((interval.as_millis() as f64 * share) as i64)
}

/// The company's first watch slot at or after `t`.
pub fn slot_at_or_after(company: Uuid, interval: Duration, t: DateTime<Utc>) -> DateTime<Utc> {
    let step = (interval.as_millis() as i64).max(1);
    let offset = phase(company, interval).num_milliseconds();
    let since = t.timestamp_millis() - offset;
    let k = since.div_euclid(step) + i64::from(since.rem_euclid(step) != 0);
    DateTime::from_timestamp_millis(k * step + offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One company's next watch.
struct Due {
    interval: Duration,
    at: DateTime<Utc>,
}

/// What one due watch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The company has no completed full sync yet: no watch.
    NoBaseline,
    /// Another replica claimed the slot.
    Taken,
    /// This replica requested the watch (a new session, or joining the company's full sync).
    Requested { coalesced: bool },
}

impl Fired {
    fn label(self) -> &'static str {
        match self {
            Fired::NoBaseline => "no_baseline",
            Fired::Taken => "taken",
            Fired::Requested { coalesced: false } => "requested",
            Fired::Requested { coalesced: true } => "joined",
        }
    }
}

/// Watch every company until cancelled.
pub async fn run(db: Db, bus: Bus, companies: Registry, window: Duration, cancel: CancellationToken) {
    tracing::info!("watch started");
    let started = Utc::now();
    let mut changes = companies.changes();
    let mut due: HashMap<Uuid, Due> = HashMap::new();
    // Companies known to have completed a full sync (that never becomes untrue).
    let mut baselined: HashSet<Uuid> = HashSet::new();
    let permits = Arc::new(Semaphore::new(CONCURRENT_FIRES));
    let mut firing: JoinSet<(Uuid, anyhow::Result<Fired>)> = JoinSet::new();
    loop {
        while let Some(done) = firing.try_join_next() {
            match done {
                Ok((id, Ok(fired))) => {
                    if fired != Fired::NoBaseline {
                        baselined.insert(id);
                    }
                }
                Ok((id, Err(e))) => {
                    tracing::warn!(company = %id, error = format!("{e:#}"), "the watch could not be requested")
                }
                Err(e) => tracing::error!(error = %e, "a watch request panicked"),
            }
        }
        let now = Utc::now();
        let snapshot = companies.snapshot();
        due.retain(|id, d| snapshot.get(id).and_then(|c| c.watch_interval) == Some(d.interval));
        baselined.retain(|id| snapshot.contains_key(id));
        for (id, company) in snapshot.iter() {
            let Some(interval) = company.watch_interval else { continue };
            due.entry(*id).or_insert_with(|| {
                let first = (started + interval).max(now);
                Due { interval, at: slot_at_or_after(*id, interval, first) }
            });
        }
        match wait_for_slot(due.values().map(|d| d.at).min(), now, &mut changes, &cancel).await {
            Woke::Due => {}
            Woke::Changed => continue,
            Woke::Cancelled => return,
        }
        let now = Utc::now();
        for (id, d) in due.iter_mut().filter(|(_, d)| d.at <= now) {
            let slot = d.at;
            let mut next = slot_at_or_after(*id, d.interval, slot + TimeDelta::milliseconds(1));
            if next <= now {
                // More than an interval late: skip what was missed.
                next = slot_at_or_after(*id, d.interval, now);
            }
            d.at = next;
            let Some(company) = snapshot.get(id) else { continue };
            if !company.api_key_set() {
                continue;
            }
            metrics::histogram!("employes_sync_watch_lag_seconds")
                .record((now - slot).to_std().unwrap_or_default().as_secs_f64());
            let (db, bus, permits, id, known) = (db.clone(), bus.clone(), permits.clone(), *id, baselined.contains(id));
            firing.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (id, fire(&db, &bus, id, slot, known, window).await)
            });
        }
    }
}

/// Delete quiet watch sessions older than [`QUIET_KEPT`], at start and every ten minutes, until
/// cancelled (every replica may; a session is deleted once).
pub async fn run_pruner(db: Db, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sessions::prune_quiet_watches(&db, QUIET_KEPT).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "quiet watch sessions older than a day deleted"),
            Err(e) => tracing::debug!(error = %e, "quiet watch sessions could not be pruned"),
        }
    }
}

/// One company's watch slot: unless the company has no completed full sync yet (`baselined`
/// tells it has), claim the slot; the winner requests the watch, joining a full sync of the
/// company that is queued or running.
pub async fn fire(
    db: &Db,
    bus: &Bus,
    company: Uuid,
    slot: DateTime<Utc>,
    baselined: bool,
    window: Duration,
) -> anyhow::Result<Fired> {
    let fired = if !baselined && sessions::last_full_success_at(db, company).await?.is_none() {
        Fired::NoBaseline
    } else if !sessions::claim_watch_slot(db, company, slot).await? {
        Fired::Taken
    } else {
        let trigger =
            SyncTrigger::system(company, Source::Watch, format!("watch-{company}-{}", slot.timestamp_millis()));
        let requested = request_sync(db, bus, window, &trigger).await?;
        sessions::set_watch_slot_session(db, company, slot, requested.session_id).await?;
        tracing::debug!(%company, %slot, session_id = %requested.session_id, coalesced = requested.coalesced, "watch requested");
        Fired::Requested { coalesced: requested.coalesced }
    };
    metrics::counter!("employes_sync_watches_total", "outcome" => fired.label()).increment(1);
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn slots_are_one_interval_apart_at_the_company_phase_and_the_same_on_every_replica() {
        let (company, interval) = (Uuid::from_u128(7), Duration::from_secs(10));
        let t = at("2026-12-01T06:00:03.250Z");
        let first = slot_at_or_after(company, interval, t);
        assert!(first >= t && first - t < TimeDelta::seconds(10), "{first}");
        assert_eq!(slot_at_or_after(company, interval, first), first, "a slot is its own first slot");
        let next = slot_at_or_after(company, interval, first + TimeDelta::milliseconds(1));
        assert_eq!(next - first, TimeDelta::seconds(10));
        assert_eq!((first.timestamp_millis() - phase(company, interval).num_milliseconds()) % 10_000, 0);
        assert_eq!(slot_at_or_after(company, interval, t), first, "deterministic");
    }

    #[test]
    fn a_thousand_companies_on_one_interval_are_spread_over_it() {
        let interval = Duration::from_secs(10);
        let phases: Vec<i64> = (0..1000u128).map(|i| phase(Uuid::from_u128(i), interval).num_milliseconds()).collect();
        assert!(phases.iter().all(|p| (0..10_000).contains(p)));
        let mut per_second = [0usize; 10];
        for p in &phases {
            per_second[(*p / 1000) as usize] += 1;
        }
        assert!(per_second.iter().all(|n| (50..=150).contains(n)), "{per_second:?}");
    }
}
