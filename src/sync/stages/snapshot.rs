//! Stage 1: fetch employee records (all pages, or the targeted ones) and version them.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Abort, StageCtx, StageReport, StageStatus, error_row, fatal_if_unauthorized};
use crate::{
    db::{
        employees,
        sessions::{self, NewError},
    },
    employes::Employee,
    sync::progress::StageProgress,
};

const STAGE: &str = "snapshot";
const BATCH: usize = 10;

#[tracing::instrument(skip_all, fields(%session, targeted = targets.is_some()))]
pub async fn run(ctx: &StageCtx, session: Uuid, targets: Option<&[Uuid]>) -> Result<StageReport, Abort> {
    let mut progress =
        StageProgress::start(&ctx.db, &ctx.bus, session, STAGE, targets.map_or(0, |t| t.len() as i64)).await?;
    let mut errors = Vec::new();
    let (records, complete) = match targets {
        None => {
            let list = ctx.client.list_employees().await.map_err(|e| {
                fatal_if_unauthorized(&e)
                    .unwrap_or_else(|| Abort::Fatal(format!("could not fetch the employee list from Employes: {e}")))
            })?;
            errors.extend(list.page_errors.iter().map(|e| error_row(None, e)));
            if list.invalid_records > 0 {
                errors.push(NewError {
                    employee_id: None,
                    code: "invalid_record".into(),
                    message: format!("{} employee records had no valid id and were skipped", list.invalid_records),
                });
            }
            let complete = list.is_complete() && list.invalid_records == 0;
            (list.employees, complete)
        }
        Some(ids) => (fetch_targets(ctx, session, ids, &mut errors).await?, false),
    };
    let records = dedup(records);
    progress.set_total(records.len() as i64 + if targets.is_some() { errors.len() as i64 } else { 0 });
    for chunk in records.chunks(BATCH) {
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        employees::store_snapshots(&ctx.db, session, chunk).await?;
        progress.advance(chunk.len() as i64).await?;
        crate::failpoint::pause("snapshot_stored").await;
    }
    if complete {
        let seen: Vec<Uuid> = records.iter().map(|e| e.id).collect();
        let removed = employees::mark_removed_except(&ctx.db, session, &seen).await?;
        if removed > 0 {
            tracing::info!(removed, "employees no longer listed upstream");
        }
    }
    if targets.is_some() {
        progress.advance(errors.len() as i64).await?;
    }
    sessions::add_errors(&ctx.db, session, STAGE, &errors).await?;
    let status = StageStatus::from_counts(records.len(), errors.len());
    if status == StageStatus::Failed && targets.is_some() {
        return Err(Abort::Fatal("could not fetch any of the requested employees from Employes".into()));
    }
    let stored = records.len() as i64;
    progress.finish(status.as_str(), stored).await?;
    Ok(StageReport { status, count: stored })
}

/// Targeted sync: one detail call per employee; 404 = gone upstream.
async fn fetch_targets(
    ctx: &StageCtx,
    session: Uuid,
    ids: &[Uuid],
    errors: &mut Vec<NewError>,
) -> Result<Vec<Employee>, Abort> {
    let mut found = Vec::with_capacity(ids.len());
    for &id in ids {
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        match ctx.client.employee(id).await {
            Ok(Some(e)) => found.push(e),
            Ok(None) => {
                employees::mark_removed(&ctx.db, session, id).await?;
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

/// The same employee twice in a listing (page boundaries shifting) is stored once.
fn dedup(records: Vec<Employee>) -> Vec<Employee> {
    let mut seen = HashSet::with_capacity(records.len());
    records.into_iter().filter(|e| seen.insert(e.id)).collect()
}
