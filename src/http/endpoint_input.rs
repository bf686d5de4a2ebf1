//! The bodies of the endpoint routes and what they become for [`crate::endpoints::admin`] (which
//! checks the URL with the SSRF guard), and the endpoint as the API shows it after a write that
//! reveals its secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::{
    db::endpoints::EndpointRow,
    endpoints::{
        EventKind,
        admin::{NewSpec, PatchSpec},
    },
    error::AppError,
};

/// An endpoint to register.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointBody {
    /// Where events are POSTed: an `http://` or `https://` URL whose host resolves to public
    /// addresses only (unless `ENDPOINT_ALLOW_PRIVATE_NETWORKS=true`).
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://")]
    url: String,
    /// Only this company's events; absent or `null`: every company's.
    company_id: Option<Uuid>,
    /// Only these types (change types, `employee_erased`, `milestone.<kind>`); absent or `null`:
    /// every type.
    #[schema(min_items = 1, max_items = 64)]
    types: Option<Vec<EventKind>>,
    #[schema(max_length = 500)]
    description: Option<String>,
}

/// A change to an endpoint: every field is optional; `types: null` = every type, `description:
/// null` removes it; `enabled: true` enables a disabled endpoint again (what waited is delivered).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchBody {
    #[schema(min_length = 1, max_length = 2048, pattern = "^https?://")]
    url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<EventKind>>, min_items = 1, max_items = 64)]
    types: Option<Option<Vec<EventKind>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    description: Option<Option<String>>,
    enabled: Option<bool>,
}

/// What to deliver again: the endpoint's events stored from `since` up to `until` (default: now).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    pub since: DateTime<Utc>,
    /// Not before `since`.
    pub until: Option<DateTime<Utc>>,
}

/// A field that is present: `null` is `Some(None)`, absent (the default) is `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The scheme is checked here as written (`HTTP://` or a leading space is not what the document
/// allows); the rest by the guard.
fn url(text: String) -> Result<String, AppError> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(text)
    } else {
        Err(AppError::BadRequest("url: must start with http:// or https://".into()))
    }
}

impl NewEndpointBody {
    pub fn company_id(&self) -> Option<Uuid> {
        self.company_id
    }

    pub fn into_spec(self) -> Result<NewSpec, AppError> {
        Ok(NewSpec {
            url: url(self.url)?,
            company_id: self.company_id,
            types: self.types,
            description: self.description,
        })
    }
}

impl EndpointPatchBody {
    pub fn into_spec(self) -> Result<PatchSpec, AppError> {
        Ok(PatchSpec {
            url: self.url.map(url).transpose()?,
            types: self.types,
            description: self.description,
            enabled: self.enabled,
        })
    }
}

/// An endpoint with its signing secret: the answer of `POST /api/endpoints`, the only time the
/// secret is shown (besides a rotation's answer).
#[derive(Serialize, utoipa::ToSchema)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointRow,
    /// `whsec_…`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

/// A rotation's new secret; the previous one keeps signing (a second signature) for 24 h.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Rotated {
    pub secret: String,
}

/// How many events a replay queued.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub queued: u64,
}
