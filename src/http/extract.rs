//! Extractors whose rejections are the app's own JSON errors (the conversions are in
//! [`crate::error`]), and the typed query values the read endpoints share.

use axum::extract::FromRequestParts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, de::Error as _};
use strum::VariantArray as _;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type},
};

use uuid::Uuid;

use crate::{companies::ChangedBy, domain::ChangeType, error::AppError};

/// `axum::extract::Query`, rejected with [`AppError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`, rejected with [`AppError`].
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// The request's `x-request-id` (set by the request-id layer when the caller sent none), for
/// audit entries.
pub fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get(&super::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Who makes a change, for the audit log: the caller, with the request's `x-request-id`.
pub fn changed_by(who: &super::Identity, headers: &axum::http::HeaderMap) -> ChangedBy {
    ChangedBy { actor: who.name.clone(), role: who.role, request_id: request_id(headers) }
}

/// Largest JSON body [`JsonBody`] reads.
const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON request body (`application/json`, at most 64 KiB), rejected with [`AppError`]: 415 for
/// another content type, 413 when larger, 400 naming the field that is wrong (`rate_limit:
/// invalid type: string "fast", expected u32`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, AppError> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(AppError::UnsupportedMediaType("expected Content-Type: application/json".into()));
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
            .await
            .map_err(|_| AppError::PayloadTooLarge(MAX_JSON_BODY))?;
        // A struct would also read from a JSON array (`[null, null]`): the document says object.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(AppError::BadRequest("invalid request body: expected a JSON object".into()));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // serde's own messages name the line and column; the path names the field.
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            if path == "." || message.contains(&format!("`{path}`")) {
                AppError::BadRequest(format!("invalid request body: {message}"))
            } else {
                AppError::BadRequest(format!("invalid request body: {path}: {message}"))
            }
        })?;
        de.end()
            .map_err(|_| AppError::BadRequest("invalid request body: trailing characters after the JSON".into()))?;
        Ok(JsonBody(value))
    }
}

/// `?company_id=`, on the routes about one company: may be omitted when there is only one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompanyQuery {
    /// The company; may be omitted when there is only one.
    pub company_id: Option<Uuid>,
}

/// `?limit=`: 1 to `MAX` items, `DEFAULT` when absent. The check and the documented bounds
/// come from the same two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const DEFAULT: i64, const MAX: i64>(i64);

impl<const DEFAULT: i64, const MAX: i64> Limit<DEFAULT, MAX> {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl<const DEFAULT: i64, const MAX: i64> Default for Limit<DEFAULT, MAX> {
    fn default() -> Self {
        Limit(DEFAULT)
    }
}

impl<'de, const DEFAULT: i64, const MAX: i64> Deserialize<'de> for Limit<DEFAULT, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(deserializer)?;
        if (1..=MAX).contains(&n) {
            Ok(Limit(n))
        } else {
            Err(D::Error::custom(format!("limit must be between 1 and {MAX}")))
        }
    }
}

impl<const DEFAULT: i64, const MAX: i64> PartialSchema for Limit<DEFAULT, MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(MAX))
            .default(Some(DEFAULT.into()))
            .into()
    }
}

impl<const DEFAULT: i64, const MAX: i64> ToSchema for Limit<DEFAULT, MAX> {}

/// A query value parsed with `parse`; `message` names the field and what it must be.
fn parsed<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Option<T>,
    message: impl FnOnce() -> String,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    parse(&text).map(Some).ok_or_else(|| D::Error::custom(message()))
}

/// `?since=`: an RFC 3339 timestamp.
pub fn since<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc));
    parsed(deserializer, parse, || "since must be an RFC 3339 timestamp".into())
}

/// `?until=`: an RFC 3339 timestamp.
pub fn until<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let parse = |s: &str| DateTime::parse_from_rfc3339(s).ok().map(|d| d.with_timezone(&Utc));
    parsed(deserializer, parse, || "until must be an RFC 3339 timestamp".into())
}

/// `?employee_id=`: a UUID.
pub fn employee_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Uuid>, D::Error> {
    parsed(deserializer, |s| Uuid::parse_str(s).ok(), || "employee_id must be a UUID".into())
}

/// `?type=`: a change type; the message lists them all.
pub fn change_type<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ChangeType>, D::Error> {
    parsed(
        deserializer,
        |s| s.parse().ok(),
        || {
            let all: Vec<&str> = ChangeType::VARIANTS.iter().map(|t| t.as_str()).collect();
            format!("type must be one of {}", all.join(", "))
        },
    )
}

#[cfg(test)]
pub(super) mod tests {
    use axum::{extract::FromRequestParts, http::Request};
    use serde::de::DeserializeOwned;

    use super::Query;
    use crate::error::AppError;

    /// What the app's `Query` extractor makes of `uri`: the value, or the message of its 400.
    pub async fn query<T: DeserializeOwned + Send>(uri: &str) -> Result<T, String> {
        let (mut parts, ()) = Request::get(uri).body(()).expect("a valid request").into_parts();
        match Query::<T>::from_request_parts(&mut parts, &()).await {
            Ok(Query(value)) => Ok(value),
            Err(AppError::BadRequest(message)) => Err(message),
            Err(other) => panic!("{uri}: not a bad request: {other:?}"),
        }
    }
}
