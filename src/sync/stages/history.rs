//! Stage 2: fetch each employee's employments (bounded concurrency, paced by the client's
//! rate limiter) and version them. Failures are per-employee errors.

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

#[tracing::instrument(skip_all, fields(%session))]
pub async fn run(ctx: &StageCtx, session: Uuid, targets: Option<&[Uuid]>) -> Result<StageReport, Abort> {
    let ids = employees::history_due(&ctx.db, ctx.company, session, targets, ctx.history_refresh_after).await?;
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

    let mut ok = 0usize;
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
            employees::store_histories(&ctx.db, ctx.company, session, &batch).await?;
            batch.clear();
        }
        progress.advance(1).await?;
        if progress.processed == 20 {
            failpoint::pause(Failpoint::HistoryProgress).await;
        }
    }
    employees::store_histories(&ctx.db, ctx.company, session, &batch).await?;
    sessions::add_errors(&ctx.db, session, STAGE, &errors).await?;
    let status = if ids.is_empty() { StageStatus::Completed } else { StageStatus::from_counts(ok, errors.len()) };
    // Counted over every employee in scope, including those whose history was still fresh.
    let with_history = employees::count_with_history(&ctx.db, ctx.company, targets).await?;
    progress.finish(status, with_history).await?;
    Ok(StageReport { status, count: with_history })
}
