//! Stage 3: detect changes in what this session stored, record them once, publish them.

use std::time::Duration;

use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus};
use crate::{
    db::{changes, employees},
    domain::{Change, History, RecordDiff, detect_history_changes, detect_record_changes},
    sync::{outbox, progress::StageProgress},
};

const STAGE: &str = "changes";
const INSERT_BATCH: usize = 1000;

#[tracing::instrument(skip_all, fields(%session))]
pub async fn run(ctx: &StageCtx, session: Uuid) -> Result<StageReport, Abort> {
    let baseline = employees::is_baseline(&ctx.db, session).await?;
    let records = employees::record_versions(&ctx.db, session).await?;
    let histories = employees::history_versions(&ctx.db, session).await?;
    let mut progress =
        StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, (records.len() + histories.len()) as i64).await?;

    let mut found: Vec<Change> = Vec::new();
    for r in &records {
        found.extend(detect_record_changes(&RecordDiff {
            employee_id: r.employee_id,
            previous: r.previous.as_ref(),
            current: r.current.as_ref(),
            version: r.version,
            baseline,
        }));
        progress.advance(1).await?;
    }
    for (employee_id, data) in &histories {
        let employments = data.as_array().map(Vec::as_slice).unwrap_or_default();
        found.extend(detect_history_changes(*employee_id, &History::from_employments(employments)));
        progress.advance(1).await?;
    }
    // Cached: the key is a SHA-256 of a formatted string; `sort_by_key` would compute it twice per comparison.
    found.sort_by_cached_key(Change::dedup_key);
    for chunk in found.chunks(INSERT_BATCH) {
        for change_type in changes::insert(&ctx.db, session, chunk).await? {
            metrics::counter!("employes_sync_changes_total", "type" => change_type).increment(1);
        }
    }
    // Counted from the table, so a resumed session reports what it recorded in every attempt.
    let recorded = changes::count_for_session(&ctx.db, session).await?;
    crate::failpoint::pause("changes_committed").await;
    // Publish now; if NATS is down the outbox sweeper publishes them later.
    if let Err(e) = outbox::publish_pending(&ctx.db, &ctx.bus, &ctx.event_source, Some(session), Duration::ZERO).await {
        tracing::warn!(error = format!("{e:#}"), "change events not published yet; the outbox will retry");
    }
    crate::failpoint::pause("changes_published").await;
    progress.finish(StageStatus::Completed.as_str(), recorded).await?;
    Ok(StageReport { status: StageStatus::Completed, count: recorded })
}
