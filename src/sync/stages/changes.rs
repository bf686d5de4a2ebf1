//! Stage 3: detect changes in what this session stored, record them once, publish them.

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus};
use crate::{
    db::{
        changes,
        employees::{self, RecordVersion},
    },
    domain::{
        Change, History, KeyedChange, RecordDiff, for_each_history_change, for_each_record_change, sort_for_insert,
    },
    sync::{outbox, progress::StageProgress},
};

const STAGE: &str = "changes";
const INSERT_BATCH: usize = 1000;

/// What changes are detected in: a record diff, or an employment history.
enum Source<'a> {
    Record(&'a RecordVersion),
    History(&'a Value),
}

#[tracing::instrument(skip_all, fields(%session))]
pub async fn run(ctx: &StageCtx, session: Uuid) -> Result<StageReport, Abort> {
    let baseline = employees::is_baseline(&ctx.db, session).await?;
    let records = employees::record_versions(&ctx.db, session).await?;
    let histories = employees::history_versions(&ctx.db, session).await?;
    // Walked in employee order, so that `sort_for_insert` only sorts each employee's changes.
    let mut sources: Vec<(Uuid, Source)> = records
        .iter()
        .map(|r| (r.employee_id, Source::Record(r)))
        .chain(histories.iter().map(|(employee_id, data)| (*employee_id, Source::History(data))))
        .collect();
    sources.sort_unstable_by_key(|(employee_id, _)| *employee_id);
    let mut progress = StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, sources.len() as i64).await?;

    // Each change's key is computed once, here: the sort, the insert and the id all use it.
    let mut found: Vec<KeyedChange> = Vec::new();
    for (employee_id, source) in &sources {
        let mut keep = |c: Change| found.push(c.keyed());
        match source {
            Source::Record(r) => {
                let diff = RecordDiff {
                    employee_id: *employee_id,
                    previous: r.previous.as_ref(),
                    current: r.current.as_ref(),
                    version: r.version,
                    baseline,
                };
                for_each_record_change(&diff, &mut keep);
            }
            Source::History(data) => {
                let employments = data.as_array().map(Vec::as_slice).unwrap_or_default();
                for_each_history_change(*employee_id, &History::from_employments(employments), &mut keep);
            }
        }
        progress.advance(1).await?;
    }
    sort_for_insert(&mut found);
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
