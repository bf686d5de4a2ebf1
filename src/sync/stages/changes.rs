//! Stage 3: detect changes in what this session stored, record them once, publish them.

use std::time::Duration;

use futures::TryStreamExt;
use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus};
use crate::{
    db::{changes, employees, sessions},
    domain::{
        Change, History, KeyedChange, RecordDiff, for_each_history_change, for_each_record_change, sort_for_insert,
    },
    sync::{outbox, progress::StageProgress},
};

const STAGE: crate::domain::Stage = crate::domain::Stage::Changes;
const INSERT_BATCH: usize = 1000;

/// Record a batch of changes (ones already recorded are skipped) with their sequence numbers and
/// `baseline`, in one transaction, and empty the batch. Ordered by
/// employee and key, so concurrent sessions recording the same changes take their row locks
/// in one order (batches hold whole employees, and employees come in order).
async fn insert(ctx: &StageCtx, session: Uuid, baseline: bool, found: &mut Vec<KeyedChange>) -> sqlx::Result<()> {
    sort_for_insert(found);
    for change_type in changes::record(&ctx.db, ctx.company, session, baseline, found).await? {
        metrics::counter!("employes_sync_changes_total", "type" => change_type.as_str(), "company" => ctx.company.to_string())
            .increment(1);
    }
    found.clear();
    Ok(())
}

/// `stored_nothing`: the session (in every attempt) stored no version and marked no employee
/// removed, so it has nothing to diff of its own; what earlier failed sessions stored still is.
#[tracing::instrument(skip_all, fields(%session))]
pub async fn run(ctx: &StageCtx, session: Uuid, stored_nothing: bool) -> Result<StageReport, Abort> {
    // Versions a failed session stored are diffed here too: a later sync finds them unchanged
    // and would never diff them itself.
    let adopted = sessions::undiffed_failed(&ctx.db, session).await?;
    if stored_nothing && adopted.is_empty() {
        // Nothing to diff, so nothing recorded and nothing to publish (an idle watch).
        StageProgress::nothing_to_do(&ctx.db, &ctx.bus, session, STAGE).await?;
        return Ok(StageReport { status: StageStatus::Completed, count: 0, stored: 0 });
    }
    let baseline = employees::is_baseline(&ctx.db, session).await?;
    let diffed: Vec<Uuid> = std::iter::once(session).chain(adopted.iter().copied()).collect();
    let touched = employees::count_session_diffs(&ctx.db, &diffed).await?;
    let mut progress = StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, touched).await?;
    // Streamed in employee order (a company is never held in memory at once); each change's key
    // is computed once, here: the sort, the insert and the id all use it.
    let mut diffs = employees::session_diffs(&ctx.db, &diffed);
    let mut found: Vec<KeyedChange> = Vec::new();
    while let Some(d) = diffs.try_next().await? {
        let mut keep = |c: Change| found.push(c.keyed());
        if let Some(version) = d.version {
            let diff = RecordDiff {
                employee_id: d.employee_id,
                previous: d.previous.as_ref(),
                current: d.current.as_ref(),
                version,
                baseline,
            };
            for_each_record_change(&diff, &mut keep);
        }
        if let Some(history) = &d.history {
            let employments = history.as_array().map(Vec::as_slice).unwrap_or_default();
            for_each_history_change(d.employee_id, &History::from_employments(employments), &mut keep);
        }
        if found.len() >= INSERT_BATCH {
            insert(ctx, session, baseline, &mut found).await?;
        }
        progress.advance(1).await?;
    }
    insert(ctx, session, baseline, &mut found).await?;
    drop(diffs);
    if !adopted.is_empty() {
        tracing::info!(sessions = adopted.len(), "diffed what earlier failed sessions stored");
        sessions::mark_diffed(&ctx.db, &adopted, session).await?;
    }
    // Counted from the table, so a resumed session reports what it recorded in every attempt.
    let recorded = changes::count_for_session(&ctx.db, session).await?;
    crate::failpoint::pause(crate::failpoint::Failpoint::ChangesCommitted).await;
    // Publish now; if NATS is down the outbox sweeper publishes them later.
    if let Err(e) = outbox::publish_pending(&ctx.db, &ctx.bus, Some(session), Duration::ZERO).await {
        tracing::warn!(error = format!("{e:#}"), "change events not published yet; the outbox will retry");
    }
    crate::failpoint::pause(crate::failpoint::Failpoint::ChangesPublished).await;
    progress.finish(StageStatus::Completed, recorded).await?;
    Ok(StageReport { status: StageStatus::Completed, count: recorded, stored: 0 })
}
