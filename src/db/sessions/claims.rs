//! Who runs a session: claims (capped in attempts), heartbeats, release at shutdown, the final
//! status, and the reaper for sessions nobody runs any more.

use std::time::Duration;

use uuid::Uuid;

use super::{Db, SessionRow};
use crate::domain::SessionStatus;

/// What a claim gave this worker.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The session is this worker's to run (this claim is counted in `attempts`).
    Held(SessionRow),
    /// The session is this worker's, but it had its last attempt before this claim: the holder
    /// must fail it instead of running it again.
    Exhausted(SessionRow),
    /// Another worker holds the session (and heart-beats), or it has ended.
    Unavailable,
}

/// Take a session for this worker: a queued one, a released one, or one whose worker stopped
/// heart-beating. Row locking makes exactly one claimant win. Every claim counts as an attempt;
/// a session already claimed `attempt_cap` times comes back [`Claim::Exhausted`].
pub async fn claim(db: &Db, id: Uuid, worker: &str, takeover_after: Duration, attempt_cap: i32) -> sqlx::Result<Claim> {
    let claimed = session_query!(
        r#"UPDATE sync_sessions
           SET status = 'running', worker_id = $2, heartbeat_at = now(), attempts = attempts + 1,
               started_at = COALESCE(started_at, now())
           WHERE id = $1
             AND (status = 'queued'
                  OR (status = 'running' AND (heartbeat_at IS NULL
                                              OR heartbeat_at < now() - make_interval(secs => $3::float8))))
           RETURNING"#,
        "",
        id,
        worker,
        takeover_after.as_secs_f64(),
    )
    .fetch_optional(db)
    .await?;
    Ok(match claimed {
        None => Claim::Unavailable,
        Some(s) if s.attempts > attempt_cap => Claim::Exhausted(s),
        Some(s) => Claim::Held(s),
    })
}

pub async fn heartbeat(db: &Db, id: Uuid, worker: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_sessions SET heartbeat_at = now() WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        id,
        worker
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Give a running session back (shutdown): the next delivery may claim it at once.
pub async fn release(db: &Db, id: Uuid, worker: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sync_sessions SET heartbeat_at = NULL WHERE id = $1 AND worker_id = $2 AND status = 'running'",
        id,
        worker
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Store the final status; returns the final row, or `None` when the session had already ended
/// (the reaper failed it meanwhile).
pub async fn finish(
    db: &Db,
    id: Uuid,
    status: SessionStatus,
    reason: Option<&str>,
) -> sqlx::Result<Option<SessionRow>> {
    debug_assert!(status.is_final(), "{status} is not a final status");
    session_query!(
        r#"UPDATE sync_sessions
           SET status = $2, failure_reason = $3, completed_at = now(), heartbeat_at = NULL,
               errors_count = (SELECT count(*)::int FROM sync_errors WHERE session_id = $1)
           WHERE id = $1 AND status IN ('queued', 'running')
           RETURNING"#,
        "",
        id,
        status.as_str(),
        reason,
    )
    .fetch_optional(db)
    .await
}

/// Sessions whose worker went silent for too long are failed with a reason; queued sessions
/// that no worker ever picked up likewise. Returns the ids.
pub async fn reap(db: &Db, silent_for: Duration) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar!(
        r#"UPDATE sync_sessions
           SET status = 'failed', completed_at = now(),
               failure_reason = CASE WHEN status = 'running'
                   THEN 'the worker stopped responding (no heartbeat) and no worker resumed the session'
                   ELSE 'no worker picked up the request' END
           WHERE (status = 'running' AND COALESCE(heartbeat_at, started_at) < now() - make_interval(secs => $1::float8))
              OR (status = 'queued' AND requested_at < now() - make_interval(secs => $1::float8) * 6)
           RETURNING id"#,
        silent_for.as_secs_f64()
    )
    .fetch_all(db)
    .await
}
