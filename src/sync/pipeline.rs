//! One session: its stages in order, skipping those a previous attempt finished, then the
//! final status and the company's issues (both committed before the session's last progress
//! event).

use std::time::Instant;

use super::{
    issues, progress,
    stages::{self, Abort, Failure, StageCtx, StageReport},
};
use crate::{
    bus::Bus,
    db::{
        Db,
        sessions::{self, SessionRow},
    },
    domain::{SessionStatus, Stage, StageStatus},
    failpoint::{self, Failpoint},
};

/// Run (or resume) a claimed session to its end. `Ok` carries the final status, already stored.
#[tracing::instrument(skip_all, fields(session_id = %session.id, company = %session.company_id, scope = %session.scope, attempt = session.attempts))]
pub async fn run(ctx: &StageCtx, session: &SessionRow) -> Result<SessionStatus, Abort> {
    // `session` is as claimed: on its first attempt no stage has run and no error was written
    // yet, so neither is read nor cleared.
    let first_attempt = session.attempts <= 1;
    let done = if first_attempt { Vec::new() } else { sessions::stages(&ctx.db, session.id).await? };
    let targets = session.employee_ids.as_deref();
    let mut statuses = Vec::with_capacity(Stage::ORDER.len());
    // Held from the changes stage (or the evaluation, when an earlier attempt did that stage)
    // until the milestone events are sent: a few sessions of the worker at a time.
    let mut finishing = None;
    // The session stored no version and removed no employee, in any attempt: known only when
    // this first attempt ran every stage so far.
    let mut stored_nothing = first_attempt;
    for &stage in Stage::ORDER {
        if let Some(prev) = done.iter().find(|s| s.stage == stage && s.status.is_done()) {
            tracing::info!(%stage, "stage already done by an earlier attempt");
            statuses.push(prev.status);
            continue;
        }
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        // A session that stored nothing has no diff to hold in memory: it takes no turn.
        if stage == Stage::Changes && !stored_nothing {
            finishing = Some(take_turn(ctx).await?);
        }
        if !first_attempt {
            sessions::clear_stage_errors(&ctx.db, session.id, stage).await?;
        }
        let started = Instant::now();
        let result: Result<StageReport, Abort> = match stage {
            Stage::Snapshot => stages::snapshot::run(ctx, session.id, targets).await,
            Stage::History => stages::history::run(ctx, session.id, targets).await,
            Stage::Changes => stages::changes::run(ctx, session.id, stored_nothing).await,
        };
        // Per stage, not per company: a histogram per company would multiply its series by the
        // number of companies; the per-company counters say which company is slow or failing.
        metrics::histogram!("employes_sync_stage_duration_seconds", "stage" => stage.as_str())
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(report) => {
                statuses.push(report.status);
                stored_nothing &= report.stored == 0;
            }
            Err(Abort::Fatal(failure)) => {
                progress::fail_stage(&ctx.db, &ctx.bus, session.id, stage).await?;
                return finish(&ctx.db, &ctx.bus, session, SessionStatus::Failed, Some(&failure)).await;
            }
            Err(other) => return Err(other),
        }
    }
    let status = if statuses.iter().all(|s| *s == StageStatus::Completed) {
        SessionStatus::Completed
    } else {
        SessionStatus::CompletedWithErrors
    };
    // Milestones of the employees this session touched, as of today; their events go out now
    // (or, when NATS is away, through the outbox sweeper). A failure here leaves the session for
    // redelivery, which skips the finished stages and evaluates again. A session that stored
    // nothing touched no employee: nothing to evaluate, no event of its own to publish.
    if !stored_nothing {
        let finishing = match finishing {
            Some(turn) => turn,
            None => take_turn(ctx).await?,
        };
        super::milestones::after_session(&ctx.db, &ctx.milestones, session.company_id, session.id).await?;
        super::milestones::outbox::publish_now(&ctx.db, &ctx.bus, session.company_id).await;
        drop(finishing);
    }
    failpoint::pause(Failpoint::SessionFinishing).await;
    finish(&ctx.db, &ctx.bus, session, status, None).await
}

/// Wait for a turn at the last phase (see [`StageCtx::finishing`]); a shutdown ends the wait.
async fn take_turn(ctx: &StageCtx) -> Result<tokio::sync::OwnedSemaphorePermit, Abort> {
    tokio::select! {
        turn = ctx.finishing.clone().acquire_owned() => Ok(turn.expect("the worker's turns are never closed")),
        _ = ctx.cancel.cancelled() => Err(Abort::Cancelled),
    }
}

/// Store the final status; open, update or resolve the company's issues; then announce the end.
pub async fn finish(
    db: &Db,
    bus: &Bus,
    session: &SessionRow,
    status: SessionStatus,
    failure: Option<&Failure>,
) -> Result<SessionStatus, Abort> {
    let reason = failure.map(|f| f.reason.as_str());
    let ended = progress::end_session(db, session.id, status, reason).await?;
    failpoint::pause(Failpoint::SessionEnded).await;
    let company = ended.company_id.to_string();
    metrics::counter!("employes_sync_sessions_total", "status" => ended.status.as_str(), "company" => company)
        .increment(1);
    let (employees, changes, errors) = (ended.employees_processed, ended.changes_detected, ended.errors_count);
    // At the level an operator must act on: a failed session is an error, one that completed
    // with errors a warning.
    let status = ended.status.as_str();
    match ended.status {
        SessionStatus::Failed => {
            tracing::error!(status, reason = reason.unwrap_or("unknown"), employees, errors, "sync session failed")
        }
        SessionStatus::CompletedWithErrors => {
            tracing::warn!(status, employees, changes, errors, "sync session completed with errors")
        }
        SessionStatus::Completed | SessionStatus::Queued | SessionStatus::Running => {
            tracing::info!(status, employees, changes, "sync session ended")
        }
    }
    // The issues before the last event: the dashboard reads the status (with the open issues)
    // when a session's last event comes, and must not find the issue a clean sync resolved.
    issues::after_session(db, &ended, failure).await;
    progress::announce_end(bus, &ended).await;
    Ok(ended.status)
}
