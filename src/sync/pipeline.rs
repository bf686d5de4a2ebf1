//! One session: its stages in order, skipping those a previous attempt finished, then the
//! final status (committed before the final progress event).

use std::time::Instant;

use super::{
    progress,
    stages::{self, Abort, StageCtx, StageReport, StageStatus},
};
use crate::db::sessions::{self, STAGES, SessionRow};

/// Run (or resume) a claimed session to its end. `Ok` carries the final status, already stored.
#[tracing::instrument(skip_all, fields(session_id = %session.id, scope = %session.scope, attempt = session.attempts))]
pub async fn run(ctx: &StageCtx, session: &SessionRow) -> Result<String, Abort> {
    let done = sessions::stages(&ctx.db, session.id).await?;
    let targets = session.employee_ids.as_deref();
    let mut statuses = Vec::with_capacity(STAGES.len());
    for stage in STAGES {
        if let Some(prev) =
            done.iter().find(|s| s.stage == stage && matches!(s.status.as_str(), "completed" | "completed_with_errors"))
        {
            tracing::info!(stage, "stage already done by an earlier attempt");
            statuses.push(if prev.status == "completed" {
                StageStatus::Completed
            } else {
                StageStatus::CompletedWithErrors
            });
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        sessions::clear_stage_errors(&ctx.db, session.id, stage).await?;
        let started = Instant::now();
        let result: Result<StageReport, Abort> = match stage {
            "snapshot" => stages::snapshot::run(ctx, session.id, targets).await,
            "history" => stages::history::run(ctx, session.id, targets).await,
            _ => stages::changes::run(ctx, session.id).await,
        };
        metrics::histogram!("employes_sync_stage_duration_seconds", "stage" => stage)
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(report) => statuses.push(report.status),
            Err(Abort::Fatal(reason)) => {
                sessions::stage_finished(&ctx.db, session.id, stage, "failed", 0, 0, 0).await?;
                progress::emit(&ctx.bus, session.id, stage, "failed", 0, 0).await;
                return finish(ctx, session, "failed", Some(&reason)).await;
            }
            Err(other) => return Err(other),
        }
    }
    let status =
        if statuses.iter().all(|s| *s == StageStatus::Completed) { "completed" } else { "completed_with_errors" };
    crate::failpoint::pause("session_finishing").await;
    finish(ctx, session, status, None).await
}

/// Store the final status, then announce it.
pub async fn finish(ctx: &StageCtx, session: &SessionRow, status: &str, reason: Option<&str>) -> Result<String, Abort> {
    sessions::finish(&ctx.db, session.id, status, reason).await?;
    let stored = sessions::get(&ctx.db, session.id).await?.map(|s| (s.employees_processed, s.changes_detected));
    let (processed, changes) = stored.unwrap_or_default();
    metrics::counter!("employes_sync_sessions_total", "status" => status.to_string()).increment(1);
    if let Some(reason) = reason {
        tracing::warn!(status, reason, "sync session ended");
    } else {
        tracing::info!(status, employees = processed, changes, "sync session ended");
    }
    progress::emit(&ctx.bus, session.id, "session", status, i64::from(processed), i64::from(changes)).await;
    Ok(status.to_string())
}
