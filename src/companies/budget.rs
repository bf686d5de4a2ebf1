//! Budget visibility: the requests every company's client made (the registry's
//! [`RequestTally`](crate::employes::RequestTally)) are added to Postgres every few seconds, and
//! each company's last 24 h — over all replicas — is set as the gauges
//! `employes_sync_employes_requests_24h{company}` and `employes_sync_budget_used_ratio{company}`
//! (its share of `rate_limit` × 86,400).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Registry;
use crate::db::{Db, budget};

/// How often the counts are stored and the gauges set.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Store and publish until cancelled (the last counts are stored by a final [`flush`]).
pub async fn run_flusher(db: Db, companies: Registry, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut flushes = 0u64;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        flush(&db, &companies).await;
        flushes += 1;
        if flushes % 720 == 1
            && let Err(e) = budget::prune(&db).await
        {
            tracing::debug!(error = %e, "old request counts could not be pruned");
        }
    }
}

/// Store the counts since the last flush, then set every company's gauges.
pub async fn flush(db: &Db, companies: &Registry) {
    let counts = companies.tally().take();
    if let Err(e) = budget::add(db, &counts).await {
        tracing::debug!(error = %e, "request counts could not be stored; kept for the next flush");
        companies.tally().restore(counts);
        return;
    }
    let totals = match budget::all(db).await {
        Ok(totals) => totals,
        Err(e) => return tracing::debug!(error = %e, "request counts could not be read"),
    };
    for company in companies.all() {
        let used = budget::Budget::new(totals.get(&company.id()).copied().unwrap_or(0), company.rate_limit);
        let label = company.id().to_string();
        metrics::gauge!("employes_sync_employes_requests_24h", "company" => label.clone())
            .set(used.requests_24h as f64);
        metrics::gauge!("employes_sync_budget_used_ratio", "company" => label).set(used.budget_used);
    }
}
