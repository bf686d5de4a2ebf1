//! Stage 1: fetch employee records (all pages, or the targeted ones) and version them.

use std::collections::HashSet;

use tokio_util::task::AbortOnDropHandle;
use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus, error_row, fatal_if_unauthorized};
use crate::{
    db::{
        employees,
        sessions::{self, NewError},
    },
    domain::Stage,
    employes::{Employee, ListedPage},
    failpoint::{self, Failpoint},
    sync::progress::StageProgress,
};

const STAGE: Stage = Stage::Snapshot;
/// Targeted records stored per statement.
const BATCH: usize = 10;
/// Pages fetched ahead of the one being stored.
const PAGES_AHEAD: usize = 4;

#[tracing::instrument(skip_all, fields(%session, targeted = targets.is_some()))]
pub async fn run(ctx: &StageCtx, session: Uuid, targets: Option<&[Uuid]>) -> Result<StageReport, Abort> {
    let mut progress =
        StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, targets.map_or(0, |t| t.len() as i64)).await?;
    let mut errors = Vec::new();
    // New versions and removals written (what the changes stage will diff).
    let mut written = 0u64;
    let stored = match targets {
        None => store_all_pages(ctx, session, &mut progress, &mut errors, &mut written).await?,
        Some(ids) => {
            let records =
                unseen(&mut HashSet::new(), fetch_targets(ctx, session, ids, &mut errors, &mut written).await?);
            progress.set_total(records.len() as i64 + errors.len() as i64);
            for chunk in records.chunks(BATCH) {
                if ctx.cancel.is_cancelled() {
                    return Err(Abort::Cancelled);
                }
                written += employees::store_snapshots(&ctx.db, ctx.company, session, chunk, &ctx.digest_key).await?;
                progress.advance(chunk.len() as i64).await?;
            }
            progress.advance(errors.len() as i64).await?;
            records.len()
        }
    };
    sessions::add_errors(&ctx.db, session, STAGE, &errors).await?;
    let status = StageStatus::from_counts(stored, errors.len());
    if status == StageStatus::Failed && targets.is_some() {
        let kind = if errors.iter().all(|e| e.code == "rate_limited") {
            crate::domain::IssueKind::RateLimited
        } else {
            crate::domain::IssueKind::ApiUnavailable
        };
        return Err(Abort::fatal(kind, "could not fetch any of the requested employees from Employes"));
    }
    progress.finish(status, stored as i64).await?;
    Ok(StageReport { status, count: stored as i64, stored: written })
}

/// Full sync: store the list page by page as it arrives (the company is never held in
/// memory at once), then, if every page came back, mark who is no longer listed.
async fn store_all_pages(
    ctx: &StageCtx,
    session: Uuid,
    progress: &mut StageProgress<'_>,
    errors: &mut Vec<NewError>,
    written: &mut u64,
) -> Result<usize, Abort> {
    let (tx, mut pages) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    let (client, concurrency) = (ctx.client.clone(), ctx.fetch_concurrency);
    let mut lister = AbortOnDropHandle::new(tokio::spawn(async move { client.list_pages(concurrency, tx).await }));
    // The same employee on two pages (the listing shifting while we page) is stored once.
    let mut seen: HashSet<Uuid> = HashSet::new();
    let (mut invalid, mut incomplete) = (0usize, false);
    loop {
        let page = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return Err(Abort::Cancelled),
            page = pages.recv() => page,
        };
        match page {
            Some(ListedPage::Records { employees, invalid_records, total }) => {
                invalid += invalid_records;
                let fresh = unseen(&mut seen, employees);
                let expected = total.map_or(0, |t| t as i64).max(seen.len() as i64);
                progress.set_total(expected.max(progress.total));
                *written += employees::store_snapshots(&ctx.db, ctx.company, session, &fresh, &ctx.digest_key).await?;
                progress.advance(fresh.len() as i64).await?;
                failpoint::pause(Failpoint::SnapshotStored).await;
            }
            Some(ListedPage::Failed(e)) => {
                incomplete = true;
                errors.push(error_row(None, &e));
            }
            None => break,
        }
    }
    match (&mut lister).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(fatal_if_unauthorized(&e).unwrap_or_else(|| {
                Abort::fatal(e.issue_kind(), format!("could not fetch the employee list from Employes: {e}"))
            }));
        }
        Err(e) => {
            return Err(Abort::fatal(crate::domain::IssueKind::SyncFailed, format!("listing employees stopped: {e}")));
        }
    }
    progress.set_total(seen.len() as i64);
    if invalid > 0 {
        errors.push(NewError {
            employee_id: None,
            code: "invalid_record".into(),
            message: format!("{invalid} employee records had no valid id and were skipped"),
        });
    }
    let listed: Vec<Uuid> = seen.into_iter().collect();
    if !incomplete && invalid == 0 {
        let removed = employees::mark_removed_except(&ctx.db, ctx.company, session, &listed).await?;
        *written += removed;
        if removed > 0 {
            tracing::info!(removed, "employees no longer listed upstream");
        }
    }
    Ok(listed.len())
}

/// Targeted sync: one detail call per employee; 404 = gone upstream.
async fn fetch_targets(
    ctx: &StageCtx,
    session: Uuid,
    ids: &[Uuid],
    errors: &mut Vec<NewError>,
    written: &mut u64,
) -> Result<Vec<Employee>, Abort> {
    let mut found = Vec::with_capacity(ids.len());
    for &id in ids {
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        match ctx.client.employee(id).await {
            Ok(Some(e)) => found.push(e),
            Ok(None) => {
                *written += employees::mark_removed(&ctx.db, ctx.company, session, id).await?;
            }
            Err(e) => {
                if let Some(fatal) = fatal_if_unauthorized(&e) {
                    return Err(fatal);
                }
                errors.push(error_row(Some(id), &e));
            }
        }
    }
    Ok(found)
}

/// The records not seen before (the same employee twice in a listing — pages shifting while
/// we page — or in a targeted request is stored once).
fn unseen(seen: &mut HashSet<Uuid>, records: Vec<Employee>) -> Vec<Employee> {
    records.into_iter().filter(|e| seen.insert(e.id)).collect()
}
