//! What can go wrong talking to Employes: errors that name the endpoint but never an id, the
//! key or a response body.

/// The endpoints this service calls; used in errors, logs and metrics (no ids, no data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListEmployees,
    Employee,
    Employments,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ListEmployees => "GET /employees",
            Endpoint::Employee => "GET /employees/{id}",
            Endpoint::Employments => "GET /employees/{id}/employments",
        }
    }

    /// The `endpoint` label of the request metrics.
    pub(super) fn label(self) -> &'static str {
        match self {
            Endpoint::ListEmployees => "list",
            Endpoint::Employee => "detail",
            Endpoint::Employments => "employments",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use crate::domain::IssueKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmployesError {
    #[error("Employes rejected the API key ({endpoint})")]
    Unauthorized { endpoint: Endpoint },
    #[error("Employes denied access to {endpoint} (403)")]
    Forbidden { endpoint: Endpoint },
    #[error("Employes answered {status} on {endpoint}")]
    Status { endpoint: Endpoint, status: u16 },
    #[error("Employes answered {status} on {endpoint}, still failing after {attempts} attempts")]
    Exhausted { endpoint: Endpoint, status: u16, attempts: u32 },
    #[error("Employes did not answer {endpoint} in time after {attempts} attempts")]
    Timeout { endpoint: Endpoint, attempts: u32 },
    #[error("could not reach Employes for {endpoint} after {attempts} attempts")]
    Connect { endpoint: Endpoint, attempts: u32 },
    #[error("Employes sent malformed JSON on {endpoint}")]
    Malformed { endpoint: Endpoint },
}

impl EmployesError {
    /// A short stable code for error rows and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EmployesError::Unauthorized { .. } => "unauthorized",
            EmployesError::Forbidden { .. } => "forbidden",
            EmployesError::Exhausted { status: 429, .. } => "rate_limited",
            EmployesError::Status { .. } | EmployesError::Exhausted { .. } => "upstream_status",
            EmployesError::Timeout { .. } => "timeout",
            EmployesError::Connect { .. } => "connect",
            EmployesError::Malformed { .. } => "malformed",
        }
    }

    /// The kind of company issue this error is, when it stops a sync.
    pub fn issue_kind(&self) -> IssueKind {
        match self {
            EmployesError::Unauthorized { .. } => IssueKind::AuthFailed,
            EmployesError::Exhausted { status: 429, .. } => IssueKind::RateLimited,
            EmployesError::Forbidden { .. }
            | EmployesError::Status { .. }
            | EmployesError::Exhausted { .. }
            | EmployesError::Timeout { .. }
            | EmployesError::Connect { .. }
            | EmployesError::Malformed { .. } => IssueKind::ApiUnavailable,
        }
    }

    /// Errors that mean every further call will fail the same way.
    pub fn is_fatal(&self) -> bool {
        matches!(self, EmployesError::Unauthorized { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_mention_ids_or_bodies() {
        let e = EmployesError::Malformed { endpoint: Endpoint::Employments };
        assert_eq!(e.to_string(), "Employes sent malformed JSON on GET /employees/{id}/employments");
        let e = EmployesError::Unauthorized { endpoint: Endpoint::ListEmployees };
        assert!(e.to_string().starts_with("Employes rejected the API key"));
    }
}
