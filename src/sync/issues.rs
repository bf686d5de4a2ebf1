//! Company issues from the sync's side: a session's end opens, updates or resolves them, and a
//! check (at start, then daily) opens `api_key_expiring` 30 days before a key's expiry. Failing
//! to record an issue is logged; it never changes how a session ended.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::stages::Failure;
use crate::{
    companies::Registry,
    db::{
        Db, issues,
        sessions::{self, SessionRow},
    },
    domain::{
        IssueKind, SessionStatus,
        issues::{IssueUpdate, SessionEnd, after_session as assess, key_expiry},
    },
};

/// How often key expiry dates are checked.
const KEY_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// A check repeated by another replica within this window does not count again.
const KEY_CHECK_QUIET: Duration = Duration::from_secs(20 * 3600);

async fn apply(db: &Db, company: uuid::Uuid, update: IssueUpdate, quiet: Duration) -> sqlx::Result<()> {
    if let Some((kind, message)) = &update.raise {
        issues::raise(db, company, *kind, message, quiet).await?;
        tracing::warn!(%company, kind = kind.as_str(), "company issue raised");
    }
    let resolved = issues::resolve(db, company, &update.resolve).await?;
    if resolved > 0 {
        tracing::info!(%company, resolved, "company issues resolved");
    }
    Ok(())
}

/// Record what a session's end means for its company's issues.
pub async fn after_session(db: &Db, session: &SessionRow, failure: Option<&Failure>) {
    let result = async {
        let end = match session.status {
            SessionStatus::Failed => {
                let reason = session.failure_reason.as_deref().unwrap_or("the session failed");
                let kind = failure.map_or(IssueKind::SyncFailed, |f| f.kind);
                SessionEnd::Failed { kind, reason }
            }
            SessionStatus::Completed | SessionStatus::CompletedWithErrors => SessionEnd::Completed {
                errors: session.status == SessionStatus::CompletedWithErrors,
                // `errors_count` is the session's error rows, counted when it ended.
                rate_limited: session.errors_count > 0
                    && sessions::count_errors_with_code(db, session.id, "rate_limited").await? > 0,
            },
            SessionStatus::Queued | SessionStatus::Running => return Ok(()),
        };
        apply(db, session.company_id, assess(end), Duration::ZERO).await
    };
    if let Err(e) = result.await {
        tracing::warn!(error = %e, company = %session.company_id, "could not record the company's issues");
    }
}

/// Open or resolve `api_key_expiring` for every company.
pub async fn check_key_expiry(db: &Db, registry: &Registry) {
    let now = Utc::now();
    for company in registry.all() {
        let update = key_expiry(company.company.api_key_expires_at.filter(|_| company.api_key_set()), now);
        if let Err(e) = apply(db, company.id(), update, KEY_CHECK_QUIET).await {
            tracing::warn!(error = %e, company = %company.id(), "could not check the API key's expiry");
        }
    }
}

/// Check key expiry at start, after every company change, and daily, until cancelled.
pub async fn run_key_expiry_checks(db: Db, registry: Registry, cancel: CancellationToken) {
    let mut changes = registry.changes();
    let mut tick = tokio::time::interval(KEY_CHECK_EVERY);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
            changed = changes.changed() => if changed.is_err() { return },
        }
        check_key_expiry(&db, &registry).await;
    }
}
