//! What a session's end, or a key's expiry date, means for a company's issues: which issue to
//! open (or update) and which to resolve. Messages are plain words for the people who fix the
//! problem; they never carry employee ids or personal data.

use chrono::{DateTime, Utc};

use super::IssueKind;

/// How long before a key's expiry `api_key_expiring` opens.
pub const KEY_EXPIRY_WARNING: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// How a session ended, as far as the company's issues care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd<'a> {
    /// Failed for this kind of reason.
    Failed { kind: IssueKind, reason: &'a str },
    /// Completed; `errors` = some employees failed; `rate_limited` = some requests gave up on 429.
    Completed { errors: bool, rate_limited: bool },
}

/// The issue changes one event calls for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueUpdate {
    /// Open this issue, or update the ongoing one of its kind (last seen, count, message).
    pub raise: Option<(IssueKind, String)>,
    /// Resolve the ongoing issues of these kinds.
    pub resolve: Vec<IssueKind>,
}

/// The issues a session's end opens and resolves. A failure opens the issue of its kind; a
/// session that got the employee list resolves the key and availability issues and past sync
/// failures; it resolves `rate_limited` unless some of its own requests gave up on 429.
pub fn after_session(end: SessionEnd<'_>) -> IssueUpdate {
    match end {
        SessionEnd::Failed { kind, reason } => {
            IssueUpdate { raise: Some((kind, failure_message(kind, reason))), resolve: Vec::new() }
        }
        SessionEnd::Completed { errors: _, rate_limited } => {
            let mut resolve = vec![IssueKind::AuthFailed, IssueKind::ApiUnavailable, IssueKind::SyncFailed];
            let raise = if rate_limited {
                Some((IssueKind::RateLimited, failure_message(IssueKind::RateLimited, "")))
            } else {
                resolve.push(IssueKind::RateLimited);
                None
            };
            IssueUpdate { raise, resolve }
        }
    }
}

fn failure_message(kind: IssueKind, reason: &str) -> String {
    match kind {
        IssueKind::AuthFailed => {
            "Employes rejected this company's API key, so its syncs fail. Set a valid key for the company.".into()
        }
        IssueKind::ApiUnavailable => format!("Employes could not be reached or kept failing: {reason}."),
        IssueKind::RateLimited => "Employes kept refusing requests with 429 Too Many Requests until they gave up. \
                                   Another client may be using the same API key, or the company's rate limit is \
                                   set above what Employes allows."
            .into(),
        IssueKind::SyncFailed | IssueKind::ApiKeyExpiring | IssueKind::EndpointDisabled => {
            format!("A sync failed: {reason}.")
        }
    }
}

/// `api_key_expiring` for a key that expires at `expires_at`, seen at `now`: open it within
/// [`KEY_EXPIRY_WARNING`] of the date (or after it), resolve it otherwise (a new key, or none).
pub fn key_expiry(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> IssueUpdate {
    let kind = IssueKind::ApiKeyExpiring;
    match expires_at {
        Some(at) if at <= now => IssueUpdate {
            raise: Some((kind, format!("This company's API key expired on {}. Set a new key.", at.format("%Y-%m-%d")))),
            resolve: Vec::new(),
        },
        Some(at) if at - now <= KEY_EXPIRY_WARNING => {
            let days = (at - now).num_days();
            let message = format!(
                "This company's API key expires on {} (in {days} day{}). Set a new key before then.",
                at.format("%Y-%m-%d"),
                if days == 1 { "" } else { "s" }
            );
            IssueUpdate { raise: Some((kind, message)), resolve: Vec::new() }
        }
        _ => IssueUpdate { raise: None, resolve: vec![kind] },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_opens_the_issue_of_its_kind_and_resolves_nothing() {
        let update = after_session(SessionEnd::Failed { kind: IssueKind::AuthFailed, reason: "x" });
        assert_eq!(update.raise.as_ref().map(|r| r.0), Some(IssueKind::AuthFailed));
        assert!(update.resolve.is_empty());
        let down = after_session(SessionEnd::Failed {
            kind: IssueKind::ApiUnavailable,
            reason: "Employes answered 503 on GET /employees, still failing after 5 attempts",
        });
        assert_eq!(
            down.raise.unwrap().1,
            "Employes could not be reached or kept failing: Employes answered 503 on GET /employees, still failing after 5 attempts."
        );
    }

    #[test]
    fn a_completed_session_resolves_key_availability_and_sync_issues() {
        let clean = after_session(SessionEnd::Completed { errors: false, rate_limited: false });
        assert_eq!(clean.raise, None);
        assert_eq!(
            clean.resolve,
            [IssueKind::AuthFailed, IssueKind::ApiUnavailable, IssueKind::SyncFailed, IssueKind::RateLimited]
        );
        let limited = after_session(SessionEnd::Completed { errors: true, rate_limited: true });
        assert_eq!(limited.raise.map(|r| r.0), Some(IssueKind::RateLimited));
        assert!(!limited.resolve.contains(&IssueKind::RateLimited));
        assert!(limited.resolve.contains(&IssueKind::AuthFailed));
    }

    #[test]
    fn a_key_expiring_within_30_days_opens_the_issue_and_a_later_date_resolves_it() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z").unwrap().to_utc();
        let soon = key_expiry(Some(now + chrono::TimeDelta::days(12)), now);
        assert_eq!(
            soon.raise,
            Some((
                IssueKind::ApiKeyExpiring,
                "This company's API key expires on 2026-12-13 (in 12 days). Set a new key before then.".into()
            ))
        );
        let gone = key_expiry(Some(now - chrono::TimeDelta::days(1)), now);
        assert!(gone.raise.unwrap().1.contains("expired on 2026-11-30"));
        for later in [Some(now + chrono::TimeDelta::days(31)), None] {
            let fine = key_expiry(later, now);
            assert_eq!((fine.raise, fine.resolve), (None, vec![IssueKind::ApiKeyExpiring]));
        }
    }
}
