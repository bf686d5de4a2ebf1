//! Stage 2: fetch each employee's employments (bounded concurrency, paced by the client's
//! rate limiter) and version them. Failures are per-employee errors.

use std::time::Duration;

use futures::{StreamExt, stream};
use serde_json::Value;
use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus, error_row, fatal_if_unauthorized};
use crate::{
    db::{
        employees::{self, HistoryItem},
        sessions,
    },
    domain::Stage,
    failpoint::{self, Failpoint},
    sync::progress::StageProgress,
};

const STAGE: Stage = Stage::History;

const BATCH: usize = 10;

/// The share of a company's histories each full sync re-reads besides the changed ones: the
/// time since the previous refresh (`since_last`; one watch interval before the first) over
/// `refresh_after`, so the reads follow the clock: a watch joined into a running sync, a
/// skipped slot or a slow machine makes the next watch read more, never a catch-up burst at the
/// window's end. All of them when `refresh_after` is zero; none without a watch, when only
/// histories older than `refresh_after` are re-read.
pub fn refresh_share(watch_interval: Option<Duration>, since_last: Option<Duration>, refresh_after: Duration) -> f64 {
    match watch_interval {
        _ if refresh_after.is_zero() => 1.0,
        Some(interval) => (since_last.unwrap_or(interval).as_secs_f64() / refresh_after.as_secs_f64()).min(1.0),
        None => 0.0,
    }
}

#[tracing::instrument(skip_all, fields(%session))]
pub async fn run(ctx: &StageCtx, session: Uuid, targets: Option<&[Uuid]>) -> Result<StageReport, Abort> {
    let since_last = match ctx.watch_interval {
        Some(_) => employees::since_last_refresh(&ctx.db, ctx.company, session).await?,
        None => None,
    };
    let since_last = since_last.map(|secs| Duration::from_secs_f64(secs.max(0.0)));
    let share = refresh_share(ctx.watch_interval, since_last, ctx.history_refresh_after);
    let ids = employees::history_due(&ctx.db, ctx.company, session, targets, ctx.history_refresh_after, share).await?;
    let mut progress = StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, ids.len() as i64).await?;
    // Fetching runs in its own task so the rate limiter stays busy while results are stored.
    let (tx, mut fetches) = tokio::sync::mpsc::channel(ctx.fetch_concurrency * 4);
    let (client, concurrency, todo) = (ctx.client.clone(), ctx.fetch_concurrency, ids.clone());
    let fetcher = tokio::spawn(async move {
        let mut results = stream::iter(todo)
            .map(|id| {
                let client = client.clone();
                async move { (id, client.employments(id).await) }
            })
            .buffer_unordered(concurrency);
        while let Some(result) = results.next().await {
            if tx.send(result).await.is_err() {
                return;
            }
        }
    });
    // Stops the fetch task when the stage ends early (cancel, fatal error, a dropped future).
    let _fetcher = AbortOnDropHandle::new(fetcher);

    let (mut ok, mut written) = (0usize, 0u64);
    let mut errors = Vec::new();
    let mut batch: Vec<HistoryItem> = Vec::with_capacity(BATCH);
    loop {
        let next = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return Err(Abort::Cancelled),
            next = fetches.recv() => next,
        };
        let Some((id, result)) = next else { break };
        match result {
            Ok(items) => {
                ok += 1;
                let has_history = !items.is_empty();
                batch.push(HistoryItem { employee_id: id, employments: Value::Array(items), has_history });
            }
            Err(e) => {
                if let Some(fatal) = fatal_if_unauthorized(&e) {
                    return Err(fatal);
                }
                errors.push(error_row(Some(id), &e));
            }
        }
        if batch.len() >= BATCH {
            written += employees::store_histories(&ctx.db, ctx.company, session, &batch).await?;
            batch.clear();
        }
        progress.advance(1).await?;
        if progress.processed == 20 {
            failpoint::pause(Failpoint::HistoryProgress).await;
        }
    }
    written += employees::store_histories(&ctx.db, ctx.company, session, &batch).await?;
    sessions::add_errors(&ctx.db, session, STAGE, &errors).await?;
    let status = if ids.is_empty() { StageStatus::Completed } else { StageStatus::from_counts(ok, errors.len()) };
    // Counted over every employee in scope, including those whose history was still fresh.
    let with_history = employees::count_with_history(&ctx.db, ctx.company, targets).await?;
    progress.finish(status, with_history).await?;
    Ok(StageReport { status, count: with_history, stored: written })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_the_time_since_the_previous_refresh_over_the_window() {
        let (min, five, day) = (Duration::from_secs(60), Duration::from_secs(300), Duration::from_secs(86_400));
        assert_eq!(refresh_share(Some(five), None, day), 300.0 / 86_400.0, "before the first: one interval");
        assert_eq!(refresh_share(Some(five), Some(five), day), 300.0 / 86_400.0, "on time: one interval");
        assert_eq!(refresh_share(Some(five), Some(2 * five), day), 600.0 / 86_400.0, "a skipped slot: two");
        assert_eq!(refresh_share(Some(five), Some(min), day), 60.0 / 86_400.0, "a sync between watches");
        assert_eq!(refresh_share(Some(day), None, min), 1.0, "an interval longer than the window reads all");
        assert_eq!(refresh_share(Some(five), Some(2 * day), day), 1.0, "after a long pause: all");
        assert_eq!(refresh_share(None, Some(five), day), 0.0, "no watch: only the histories older than the window");
        assert_eq!(refresh_share(Some(min), None, Duration::ZERO), 1.0, "zero = always every history");
        // ceil(N × share): 10,000 employees, a 5 minute watch, 24 h → 35 a watch, all within the day.
        let per_watch = (10_000.0 * refresh_share(Some(five), Some(five), day)).ceil();
        assert_eq!(per_watch, 35.0);
        assert!(per_watch * (86_400.0 / 300.0) >= 10_000.0);
    }
}
