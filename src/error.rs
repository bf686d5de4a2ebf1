//! The one application error type, how it becomes an HTTP response, and the conversions into
//! it from the layers below (extractor rejections, triggers, the database): those layers return
//! their own errors and never import this module.

use axum::{
    Json,
    extract::rejection::{PathRejection, QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{db::is_connection_error, sync::TriggerError};

/// Everything that can go wrong while serving a request or running a sync.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A company with this id exists (`company_exists`).
    #[error("{0}")]
    CompanyExists(String),
    /// A key or secret cannot be stored without `SECRETS_KEY` (`secrets_key_missing`).
    #[error("{0}")]
    SecretsKeyMissing(String),
    /// Several companies, and the request names none.
    #[error("{0}")]
    CompanyRequired(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(std::time::Duration),
    /// The whole request took longer than `HTTP_REQUEST_TIMEOUT`.
    #[error("the request did not complete within {0:?}")]
    Timeout(std::time::Duration),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// An erasure asked for an employee still in service.
    #[error("{0}")]
    StillEmployed(String),
    /// The milestone's kind cannot be acknowledged by a user (only `notice_due` can).
    #[error("{0}")]
    NotAcknowledgeable(String),
    /// The milestone is resolved already.
    #[error("{0}")]
    AlreadyResolved(String),
    /// A dependency (NATS, Postgres) cannot take the request now; the caller should retry.
    #[error("{0}")]
    Unavailable(String),
    /// The caller (or, for a webhook, its company) went over its rate; it may retry after this.
    #[error("too many requests: retry in {} s", retry_after_secs(*.0))]
    RateLimited(std::time::Duration),
    /// The caller or the replica holds as many event streams open as it may.
    #[error("{0}")]
    TooManyStreams(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// The body of every error response.
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `bad_request`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::CompanyRequired(_) | AppError::SecretsKeyMissing(_) => StatusCode::BAD_REQUEST,
            AppError::CompanyExists(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout(_) | AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::StillEmployed(_) => StatusCode::CONFLICT,
            AppError::NotAcknowledgeable(_) | AppError::AlreadyResolved(_) => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited(_) | AppError::TooManyStreams(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the error JSON.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::CompanyRequired(_) => "company_required",
            AppError::CompanyExists(_) => "company_exists",
            AppError::SecretsKeyMissing(_) => "secrets_key_missing",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::BodyTimeout(_) | AppError::Timeout(_) => "request_timeout",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::StillEmployed(_) => "still_employed",
            AppError::NotAcknowledgeable(_) => "not_acknowledgeable",
            AppError::AlreadyResolved(_) => "already_resolved",
            AppError::Unavailable(_) => "unavailable",
            AppError::RateLimited(_) => "rate_limited",
            AppError::TooManyStreams(_) => "too_many_streams",
            AppError::Database(_) | AppError::Internal(_) => "internal",
        }
    }
}

impl From<crate::companies::Resolve> for AppError {
    fn from(r: crate::companies::Resolve) -> Self {
        match r {
            crate::companies::Resolve::Required => {
                AppError::CompanyRequired("this deployment serves several companies: name one with company_id".into())
            }
            crate::companies::Resolve::Unknown => AppError::NotFound("no such company".into()),
        }
    }
}

impl From<crate::companies::CompanyError> for AppError {
    fn from(e: crate::companies::CompanyError) -> Self {
        use crate::companies::CompanyError;
        match e {
            CompanyError::Exists => AppError::CompanyExists(e.to_string()),
            CompanyError::NotFound => AppError::NotFound(e.to_string()),
            CompanyError::SecretsKeyMissing => AppError::SecretsKeyMissing(e.to_string()),
            CompanyError::Invalid { .. } => AppError::BadRequest(e.to_string()),
            CompanyError::Database(e) => AppError::Database(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        // 5xx bodies never leak internals; the cause is logged once, here.
        let message = match &self {
            AppError::Database(e) => {
                tracing::error!(error = %e, "database error while handling request");
                if is_connection_error(e) {
                    return (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(ErrorBody {
                            error: "unavailable".into(),
                            message: "the database is unavailable, try again".into(),
                        }),
                    )
                        .into_response();
                }
                "internal error".to_string()
            }
            AppError::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error while handling request");
                "internal error".to_string()
            }
            AppError::Unavailable(m) => {
                tracing::warn!(reason = %m, "dependency unavailable");
                m.clone()
            }
            other => other.to_string(),
        };
        let retry_after = match &self {
            AppError::RateLimited(wait) => Some(retry_after_secs(*wait)),
            AppError::TooManyStreams(_) => Some(STREAM_RETRY_AFTER_SECS),
            _ => None,
        };
        let body = Json(ErrorBody { error: self.code().to_string(), message });
        match retry_after {
            Some(secs) => (status, [(header::RETRY_AFTER, secs.to_string())], body).into_response(),
            None => (status, body).into_response(),
        }
    }
}

/// How soon a refused event stream may try again (streams end with their sessions, or their clients).
pub const STREAM_RETRY_AFTER_SECS: u64 = 5;

/// `Retry-After` in whole seconds: a wait rounded up, at least 1.
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl From<crate::sync::milestones::ResolveError> for AppError {
    fn from(e: crate::sync::milestones::ResolveError) -> Self {
        use crate::{domain::milestones::AcknowledgeError as A, sync::milestones::ResolveError as R};
        match e {
            R::NotFound => AppError::NotFound("no such milestone".into()),
            R::Refused(refused @ A::NotAcknowledgeable(_)) => AppError::NotAcknowledgeable(refused.to_string()),
            R::Refused(refused @ A::AlreadyResolved(_)) => AppError::AlreadyResolved(refused.to_string()),
            R::Storage(e) => match e.downcast::<sqlx::Error>() {
                Ok(db) => AppError::Database(db),
                Err(other) => AppError::Internal(other),
            },
        }
    }
}

impl From<crate::endpoints::admin::EndpointError> for AppError {
    fn from(e: crate::endpoints::admin::EndpointError) -> Self {
        use crate::endpoints::admin::EndpointError as E;
        match e {
            E::Invalid(m) => AppError::BadRequest(m),
            E::NotFound => AppError::NotFound(e.to_string()),
            E::SecretsKeyMissing => AppError::SecretsKeyMissing(e.to_string()),
            E::Unavailable(m) => AppError::Unavailable(m),
            E::Database(e) => AppError::Database(e),
        }
    }
}

impl From<TriggerError> for AppError {
    fn from(e: TriggerError) -> Self {
        match e {
            TriggerError::Unavailable(e) => AppError::Unavailable(format!("the sync queue is unavailable ({e})")),
            TriggerError::Database(e) => AppError::Database(e),
        }
    }
}

/// A malformed path segment, e.g. `/api/sync/sessions/not-a-uuid`.
impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadRequest(rejection.body_text())
    }
}

/// A malformed query string. A field whose own check failed names itself (`limit must be between
/// 1 and 100`) and is shown as it is; any other problem keeps axum's wording, which names the
/// field first (`Failed to deserialize query string: limit: invalid digit found in string`).
impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        let own_message = std::error::Error::source(&rejection)
            .and_then(std::error::Error::source)
            .and_then(|e| e.downcast_ref::<serde_path_to_error::Error<serde_urlencoded::de::Error>>())
            .map(|e| (e.path().to_string(), e.inner().to_string()))
            .filter(|(field, message)| message.strip_prefix(field.as_str()).is_some_and(|rest| rest.starts_with(' ')))
            .map(|(_, message)| message);
        AppError::BadRequest(own_message.unwrap_or_else(|| rejection.body_text()))
    }
}

/// An error and its causes on one line, each said once. Many errors (sqlx's among them) repeat
/// their source in their own message, so `{:#}` would print the same words two or three times.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_by_a_limit_is_429_with_retry_after_in_whole_seconds_and_the_error_json() {
        // Arrange
        let waits = [(0, 1), (20, 1), (1000, 1), (1001, 2), (2500, 3)];
        for (millis, secs) in waits {
            // Act
            let response = AppError::RateLimited(std::time::Duration::from_millis(millis)).into_response();
            // Assert
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(response.headers()[header::RETRY_AFTER], secs.to_string(), "{millis} ms");
        }
        let streams = AppError::TooManyStreams("x".into());
        assert_eq!((streams.status(), streams.code()), (StatusCode::TOO_MANY_REQUESTS, "too_many_streams"));
        assert_eq!(AppError::RateLimited(std::time::Duration::ZERO).code(), "rate_limited");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("error returned from database: {0}")]
    struct Repeating(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("database \"x\" does not exist")]
    struct Inner;

    #[test]
    fn a_cause_its_parent_already_quotes_is_said_once() {
        // Arrange
        let e = anyhow::Error::new(Repeating(Inner)).context("applying database migrations");
        // Act
        let line = one_line(&e);
        // Assert
        assert_eq!(line, r#"applying database migrations: error returned from database: database "x" does not exist"#);
        assert_eq!(format!("{e:#}").matches("does not exist").count(), 2, "the plain chain repeats it");
    }

    #[test]
    fn distinct_causes_are_all_kept_on_one_line() {
        let e = anyhow::anyhow!("connection refused\n(os error 111)").context("HTTP_ADDR 0.0.0.0:8080");
        assert_eq!(one_line(&e), "HTTP_ADDR 0.0.0.0:8080: connection refused (os error 111)");
    }
}
