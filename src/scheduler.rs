//! The built-in scheduler: a full sync of each company per slot of its schedule (the company's
//! `schedule`, else `SYNC_SCHEDULE`). Every replica runs it; the `(company, slot)` row in
//! Postgres (and the slot as the task's `Nats-Msg-Id`) make each slot of each company produce
//! exactly one queue task.
//!
//! Companies' slots are spread: each fires a deterministic delay after its slot (the same on
//! every replica), up to five minutes and at most a quarter of the schedule's period, so a
//! thousand companies on one schedule do not hit the database in the same second.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    bus::Bus,
    companies::{CompanyRuntime, Registry},
    db::{Db, sessions},
    domain::Source,
    sync::{SyncTrigger, request_sync},
};

/// The longest delay after a slot.
const MAX_SPREAD: TimeDelta = TimeDelta::minutes(5);
/// Wake up at least this often (companies, schedules and intervals change).
const IDLE: Duration = Duration::from_secs(30);
/// A slot fired this late is on time; later ones are skipped, not caught up.
const LATE: TimeDelta = TimeDelta::seconds(1);

/// How far after its slot `company` fires on `schedule`: a fixed share of the spread, from
/// the company id.
pub fn delay(company: Uuid, schedule: &cron::Schedule, slot: DateTime<Utc>) -> TimeDelta {
    let period = schedule.after(&slot).next().map_or(MAX_SPREAD, |next| next - slot);
    let spread = MAX_SPREAD.min(period / 4);
    let digest = Sha256::digest(company.as_bytes());
    let share = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) as f64 / u64::MAX as f64;
    TimeDelta::milliseconds((spread.num_milliseconds() as f64 * share) as i64)
}

/// The company's first slot whose firing time is not before `not_before`, and that time.
fn next_slot(
    company: Uuid,
    schedule: &cron::Schedule,
    after: DateTime<Utc>,
    not_before: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    schedule
        .after(&after)
        .take(100_000)
        .map(|slot| (slot, slot + delay(company, schedule, slot)))
        .find(|(_, at)| *at >= not_before)
}

/// When the company's next scheduled sync is requested (for its status).
pub fn next_fire(company: &CompanyRuntime) -> Option<DateTime<Utc>> {
    let schedule = company.schedule.as_ref()?;
    let now = Utc::now();
    next_slot(company.id(), schedule, now - MAX_SPREAD, now).map(|(_, at)| at)
}

/// One company's next slot, and the schedule it was computed from.
struct Due {
    schedule: String,
    slot: DateTime<Utc>,
    at: DateTime<Utc>,
}

/// Fire each company's slots until cancelled.
pub async fn run(db: Db, bus: Bus, companies: Registry, window: Duration, cancel: CancellationToken) {
    tracing::info!("scheduler started");
    let mut changes = companies.changes();
    let mut due: HashMap<Uuid, Due> = HashMap::new();
    loop {
        let now = Utc::now();
        let snapshot = companies.snapshot();
        due.retain(|id, d| {
            snapshot.get(id).and_then(|c| c.schedule.as_ref()).is_some_and(|s| s.source() == d.schedule)
        });
        for (id, company) in snapshot.iter() {
            let Some(schedule) = &company.schedule else { continue };
            if !due.contains_key(id)
                && let Some((slot, at)) = next_slot(*id, schedule, now - MAX_SPREAD, now)
            {
                due.insert(*id, Due { schedule: schedule.source().to_string(), slot, at });
            }
        }
        match wait_for_slot(due.values().map(|d| d.at).min(), now, &mut changes, &cancel).await {
            Woke::Due => {}
            Woke::Changed => continue,
            Woke::Cancelled => return,
        }
        let now = Utc::now();
        for (id, d) in due.iter_mut().filter(|(_, d)| d.at <= now) {
            let Some(company) = snapshot.get(id) else { continue };
            let Some(schedule) = &company.schedule else { continue };
            if let Err(e) = fire(&db, &bus, *id, d.slot, window).await {
                tracing::warn!(company = %id, slot = %d.slot, error = %e, "scheduled sync could not be requested");
            }
            match next_slot(*id, schedule, d.slot, now - LATE) {
                Some((slot, at)) => (d.slot, d.at) = (slot, at),
                None => d.at = DateTime::<Utc>::MAX_UTC,
            }
        }
    }
}

/// What ended [`wait_for_slot`].
pub(crate) enum Woke {
    /// The earliest slot is due (or [`IDLE`] passed: look again).
    Due,
    /// The companies changed: recompute the slots.
    Changed,
    Cancelled,
}

/// Sleep until `earliest` (at most [`IDLE`]), a change of the companies, or cancellation: the
/// wait of the scheduler's and the watch's loops over per-company slots.
pub(crate) async fn wait_for_slot(
    earliest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    changes: &mut tokio::sync::watch::Receiver<u64>,
    cancel: &CancellationToken,
) -> Woke {
    let wake = earliest.map_or(IDLE, |at| (at - now).to_std().unwrap_or_default().min(IDLE));
    tokio::select! {
        _ = cancel.cancelled() => Woke::Cancelled,
        _ = tokio::time::sleep(wake) => Woke::Due,
        changed = changes.changed() => if changed.is_err() { Woke::Cancelled } else { Woke::Changed },
    }
}

/// Claim the company's slot; the winner requests the sync (joining one already running, if any).
pub async fn fire(db: &Db, bus: &Bus, company: Uuid, slot: DateTime<Utc>, window: Duration) -> anyhow::Result<bool> {
    if !sessions::claim_slot(db, company, slot).await? {
        return Ok(false);
    }
    let trigger = SyncTrigger::system(company, Source::Scheduler, format!("schedule-{company}-{}", slot.timestamp()));
    let requested = request_sync(db, bus, window, &trigger).await?;
    sessions::set_slot_session(db, company, slot, requested.session_id).await?;
    tracing::info!(%company, %slot, session_id = %requested.session_id, coalesced = requested.coalesced, "scheduled sync requested");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn each_company_fires_its_own_fixed_delay_after_the_slot_within_a_quarter_period() {
        let every_second = cron::Schedule::from_str("* * * * * *").unwrap();
        let six_hourly = cron::Schedule::from_str("0 0 */6 * * *").unwrap();
        let slot = DateTime::parse_from_rfc3339("2026-12-01T06:00:00Z").unwrap().to_utc();
        let delays: Vec<TimeDelta> = (0..200u128).map(|i| delay(Uuid::from_u128(i), &six_hourly, slot)).collect();
        assert!(delays.iter().all(|d| *d >= TimeDelta::zero() && *d <= MAX_SPREAD));
        let spread = *delays.iter().max().unwrap() - *delays.iter().min().unwrap();
        assert!(spread > TimeDelta::minutes(4), "200 companies spread over the five minutes: {spread}");
        let company = Uuid::from_u128(7);
        assert_eq!(delay(company, &six_hourly, slot), delay(company, &six_hourly, slot), "the same on every replica");
        assert!(delay(company, &every_second, slot) <= TimeDelta::milliseconds(250));
    }

    #[test]
    fn the_next_slot_is_the_first_not_yet_due_and_late_slots_are_skipped() {
        let every_second = cron::Schedule::from_str("* * * * * *").unwrap();
        let company = Uuid::from_u128(7);
        let now = DateTime::parse_from_rfc3339("2026-12-01T06:00:10.900Z").unwrap().to_utc();
        let (slot, at) = next_slot(company, &every_second, now - TimeDelta::seconds(60), now).unwrap();
        assert!(at >= now && at - now <= TimeDelta::seconds(1), "{slot} {at}");
        assert_eq!(at, slot + delay(company, &every_second, slot));
    }
}
