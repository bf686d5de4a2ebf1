//! The daily evaluation: every company's milestones once per calendar day in `TIMEZONE`, so
//! reminders, `due` and `overdue` go out on their day even when no sync touches the employee.
//! Every replica with the scheduler role runs the loop; the `(company, day)` row in
//! `milestone_days` makes one replica evaluate each company once a day (a claim whose replica
//! died before completing it is taken over after [`STALE_CLAIM`]).

use std::{collections::HashMap, time::Duration};

use chrono::NaiveDate;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Scope, evaluate, outbox};
use crate::{
    bus::Bus,
    companies::Registry,
    config::MilestonesConfig,
    db::{
        Db,
        milestones::{self as store, DayClaim},
    },
};

/// How often the loop looks for a new day (and for companies added meanwhile).
const TICK: Duration = Duration::from_secs(60);
/// A claim not completed within this long is taken over by another replica.
const STALE_CLAIM: Duration = Duration::from_secs(30 * 60);

/// Claim and run the day's evaluation of one company. True once the day is done (here or on
/// another replica); false while another replica holds the claim.
pub async fn run_day(
    db: &Db,
    bus: &Bus,
    config: &MilestonesConfig,
    company: Uuid,
    day: NaiveDate,
    replica: &str,
) -> anyhow::Result<bool> {
    match store::claim_day(db, company, day, replica, STALE_CLAIM.as_secs_f64()).await? {
        DayClaim::Claimed => {}
        DayClaim::Done => return Ok(true),
        DayClaim::Busy => return Ok(false),
    }
    let evaluated = evaluate(db, config, company, Scope::All, day, false).await?;
    store::complete_day(db, company, day).await?;
    tracing::info!(%company, %day, employees = evaluated.employees, written = evaluated.written,
                   events = evaluated.events, "daily milestone evaluation done");
    outbox::publish_now(db, bus, company).await;
    Ok(true)
}

/// Evaluate each company once a day until cancelled.
pub async fn run(db: Db, bus: Bus, companies: Registry, config: MilestonesConfig, cancel: CancellationToken) {
    let replica = format!("milestones-{}", Uuid::new_v4());
    let mut done: HashMap<Uuid, NaiveDate> = HashMap::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let today = config.today();
        for company in companies.ids() {
            if done.get(&company) == Some(&today) || cancel.is_cancelled() {
                continue;
            }
            match run_day(&db, &bus, &config, company, today, &replica).await {
                Ok(true) => {
                    done.insert(company, today);
                }
                // Another replica runs it; look again next tick (it may die and leave the claim stale).
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%company, %today, error = format!("{e:#}"), "daily milestone evaluation failed; retrying")
                }
            }
        }
    }
}
