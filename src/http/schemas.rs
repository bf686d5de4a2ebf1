//! Schemas the derives cannot write, as plain JSON Schema (2020-12, the dialect of OpenAPI 3.1):
//! utoipa's schema model has no `not` or `contentSchema`. Each type here is a
//! placeholder for `routes!` (so the document references it by name); [`openapi::to_json`]
//! puts the JSON of [`RAW`] in its place.
//!
//! [`openapi::to_json`]: super::openapi::to_json

use serde_json::{Value, json};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{RefOr, Schema, schema::ObjectBuilder},
};

/// The event types that start a targeted sync of `data.employee_id`.
pub const EMPLOYEE_EVENTS: [&str; 5] =
    ["employee.created", "employee.updated", "employee.deleted", "employment.created", "employment.updated"];

/// The event type that starts a full sync.
pub const COMPANY_SYNC: &str = "company.sync_requested";

/// A UUID in its hyphenated form, any case (what `format: uuid` means, as a pattern: OpenAPI 3.1
/// treats `format` as an annotation).
pub const UUID_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Makes one schema of [`RAW`].
pub type Raw = fn() -> Value;

/// Component name → its whole schema. A placeholder type below stands for each one an operation
/// names; the others are referred to by these.
pub const RAW: [(&str, Raw); 4] = [
    ("WebhookEvent", webhook_event),
    ("EmployeeWebhookEvent", employee_webhook_event),
    ("OtherWebhookEvent", other_webhook_event),
    ("ProgressSseEvent", progress_sse_event),
];

/// A placeholder type for one of [`RAW`], and the derived schemas its JSON refers to.
macro_rules! raw_schema {
    ($(#[$meta:meta])* $name:ident $(refers to $($used:ty),+)?) => {
        $(#[$meta])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new().description(Some(concat!("replaced by http::schemas::RAW: ", stringify!($name)))).into()
            }
        }

        impl ToSchema for $name {
            fn schemas(_schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $($(
                    _schemas.push((<$used as ToSchema>::name().into_owned(), <$used as PartialSchema>::schema()));
                    <$used as ToSchema>::schemas(_schemas);
                )+)?
            }
        }
    };
}

raw_schema! {
    /// A Standard Webhooks event from Employes (or any sender that knows an employee changed).
    WebhookEvent
}

raw_schema! {
    /// One event of a session's progress stream.
    ProgressSseEvent refers to crate::sync::ProgressEvent
}

/// Exactly what `webhooks::parse_event` accepts: an employee event, or any other type.
fn webhook_event() -> Value {
    json!({
        "description": "A Standard Webhooks event. `employee.*`/`employment.*` sync `data.employee_id`; \
                        `company.sync_requested` syncs the whole company; any other type is accepted, recorded \
                        and ignored. Members not named here are ignored.",
        "oneOf": [
            {"$ref": "#/components/schemas/EmployeeWebhookEvent"},
            {"$ref": "#/components/schemas/OtherWebhookEvent"},
        ],
    })
}

fn timestamp() -> Value {
    json!({"description": "when it happened (RFC 3339); informational, not checked"})
}

/// `data.company_id`: which company the event is about.
fn company_id() -> Value {
    json!({"type": ["string", "null"], "format": "uuid", "pattern": UUID_PATTERN,
           "description": "the company the event is about (a hyphenated UUID). On `/webhooks/employes` it routes the \
                           event: absent or null means the only company; a company this deployment does not serve (or \
                           none named while there are several) is recorded and ignored. On \
                           `/webhooks/employes/{company_id}` it must be the path's id when given (else 400)."})
}

/// An event about one employee: a targeted sync of it.
fn employee_webhook_event() -> Value {
    json!({
        "type": "object",
        "required": ["type", "data"],
        "properties": {
            "type": {"type": "string", "enum": EMPLOYEE_EVENTS},
            "timestamp": timestamp(),
            "data": {
                "type": "object",
                "required": ["employee_id"],
                "properties": {
                    "employee_id": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN,
                                    "description": "the employee to sync (a hyphenated UUID)"},
                    "company_id": company_id(),
                },
            },
        },
    })
}

/// `company.sync_requested` (a full sync) or a type we do not act on (recorded, ignored).
fn other_webhook_event() -> Value {
    json!({
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "pattern": "^[!-~]{1,100}$", "not": {"enum": EMPLOYEE_EVENTS},
                     "description": "1–100 visible ASCII characters",
                     "examples": [COMPANY_SYNC, "payrun.finished"]},
            "timestamp": timestamp(),
            "data": {"description": "only `company_id` is read (when `data` is an object)",
                     "properties": {"company_id": company_id()}},
        },
    })
}

/// For OpenAPI 3.1 the schema of `text/event-stream` is that of each event: `event: progress` and
/// one `ProgressEvent` as the JSON text of `data`. Keep-alive comments carry no event.
fn progress_sse_event() -> Value {
    json!({
        "type": "object",
        "description": "One Server-Sent Event: `event: progress`, `data:` one progress event as JSON.",
        "required": ["event", "data"],
        "properties": {
            "event": {"type": "string", "enum": ["progress"]},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": "#/components/schemas/ProgressEvent"},
            },
        },
    })
}
