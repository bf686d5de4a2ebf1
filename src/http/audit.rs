//! `GET /api/audit`: who did what (admins only), newest first, in pages.

use axum::{extract::State, response::IntoResponse};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    AppState, Identity,
    extract::{Limit, Query},
    responses::{AdminOnly, Authenticated, Storage},
};
use crate::{
    db::audit::{self, AuditRow},
    domain::Role,
    error::{AppResult, ErrorBody},
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// How many entries per page, newest first.
    #[serde(default)]
    #[param(inline)]
    limit: Limit<100, 500>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200)]
    cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditList {
    entries: Vec<AuditRow>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// The audit log: every sync request by a person or a token, company and endpoint change,
/// replay, milestone resolution and erasure, newest first. It holds no personal values.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, description = "one page of entries", body = AuditList),
              (status = 400, description = "a malformed query parameter or cursor", body = ErrorBody),
              AdminOnly, Authenticated, Storage))]
#[tracing::instrument(skip_all)]
async fn list_audit(
    State(state): State<AppState>,
    who: Identity,
    Query(q): Query<AuditQuery>,
) -> AppResult<impl IntoResponse> {
    who.require(Role::Admin)?;
    let after = q.cursor.as_deref().map(cursor::decode).transpose()?;
    let limit = q.limit.get();
    let mut entries = audit::list(&state.db, after, limit + 1).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let next_cursor = entries.last().filter(|_| more).map(|e| cursor::encode(e.at, e.id));
    Ok(axum::Json(AuditList { entries, next_cursor }))
}

/// The keyset cursor of this list: the last entry's time and id, opaque to callers.
mod cursor {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use crate::error::AppError;

    pub fn encode(at: DateTime<Utc>, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{id}", at.timestamp_micros()))
    }

    pub fn decode(cursor: &str) -> Result<(DateTime<Utc>, Uuid), AppError> {
        let bad = || AppError::BadRequest("cursor is not one this list gave out".into());
        let text = URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
        let (micros, id) = text.split_once(':').ok_or_else(bad)?;
        let at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(bad)?;
        Ok((at, id.parse().map_err(|_| bad())?))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_cursor_reads_back_to_its_entry_and_garbage_is_refused() {
            let at = DateTime::from_timestamp_micros(1_764_590_000_123_456).unwrap();
            let id = Uuid::from_u128(42);
            assert_eq!(decode(&encode(at, id)).unwrap(), (at, id));
            for bad in ["", "!!", "bm90LWEtY3Vyc29y", &URL_SAFE_NO_PAD.encode("12:not-a-uuid")] {
                assert!(matches!(decode(bad), Err(AppError::BadRequest(_))), "{bad}");
            }
        }
    }
}
