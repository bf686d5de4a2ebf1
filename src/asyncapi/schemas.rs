//! The messages and their schemas. Payloads are the published types' own schemas (utoipa's
//! derive, the same as in the OpenAPI document); what the derive cannot say (the tag of a queue
//! task, the fields a task writes by hand, the values of a CloudEvent's `type`) is added here. The
//! CloudEvents envelope ([`crate::events::CloudEvent`]) is written once, by [`cloud_event`], around
//! each event's derived `data`; what the contract promises but nothing publishes yet is written from
//! the contract, on channels marked coming.

use serde_json::{Map, Value, json};
use strum::VariantArray as _;

use crate::domain::{ChangeType, milestones::MilestoneKind};

/// The derived schemas, with every schema they refer to.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(
    crate::sync::AdmitWebhook,
    crate::sync::RunSession,
    crate::sync::ProgressEvent,
    crate::db::changes::ChangeView,
    crate::sync::dead_letter::DeadLetter,
    crate::companies::CompaniesChanged,
    crate::endpoints::announce::EndpointsChanged,
    crate::sync::milestones::outbox::MilestoneEventData,
)))]
struct Derived;

/// `components.schemas`.
pub fn schemas() -> Value {
    let openapi = <Derived as utoipa::OpenApi>::openapi();
    let mut schemas = serde_json::to_value(openapi.components.expect("components").schemas).expect("schemas serialize");
    let all = schemas.as_object_mut().expect("a map of schemas");

    // A webhook task also writes the first version's fields by hand (`AdmitWebhook`'s `Serialize`).
    let admit = &mut all["AdmitWebhook"];
    for (name, schema) in [
        ("request_id", json!({"type": "string", "description": "Transitional: the `webhook_id` again."})),
        ("session_id", json!({"type": "string", "format": "uuid", "description": "Transitional: the nil UUID."})),
        ("source", json!({"type": "string", "enum": ["webhook"], "description": "Transitional: `webhook`."})),
    ] {
        let mut schema = schema;
        schema["deprecated"] = json!(true);
        admit["properties"][name] = schema;
        push_required(admit, name);
    }

    // A dead letter keeps whatever was queued: usually a task, but also JSON that is not one, or
    // (as a string) bytes that are not JSON at all.
    all["DeadLetter"]["properties"]["task"] = json!({
        "description": "The message as it was queued: a task (`AdmitWebhookTask` or `RunSessionTask`), other JSON, \
                        or its text when it is not JSON.",
        "anyOf": [
            {"$ref": "#/components/schemas/AdmitWebhookTask"},
            {"$ref": "#/components/schemas/RunSessionTask"},
            {"description": "Anything else that was on the queue.", "additionalProperties": true},
        ],
        "additionalProperties": true,
    });

    let change_types: Vec<String> = ChangeType::VARIANTS.iter().map(|t| format!("nl.employes.{t}")).collect();
    let change = cloud_event(
        change_types,
        "The change id (also the message's `Nats-Msg-Id`): the same on every redelivery.",
        json!({"$ref": "#/components/schemas/ChangeView"}),
    );

    let milestone_types: Vec<String> =
        MilestoneKind::VARIANTS.iter().map(|&k| format!("nl.employes.milestone.{}", <&str>::from(k))).collect();
    let milestone = cloud_event(
        milestone_types,
        "The event's id (also the message's `Nats-Msg-Id`): one per milestone, reason, reminder and due date.",
        json!({"$ref": "#/components/schemas/MilestoneEventData"}),
    );

    for (name, schema) in [
        ("ChangeEvent", change),
        ("MilestoneEvent", milestone),
        ("AdmitWebhookTask", task("admit_webhook", "AdmitWebhook")),
        ("RunSessionTask", task("run_session", "RunSession")),
        ("EmployeeErasedEvent", employee_erased_event()),
    ] {
        all.insert(name.into(), schema);
    }
    schemas
}

fn push_required(schema: &mut Value, name: &str) {
    let required = schema["required"].as_array_mut().expect("an object schema with required fields");
    if !required.iter().any(|r| r == name) {
        required.push(json!(name));
    }
}

/// A queue task: `kind`, then the variant's fields.
fn task(kind: &str, fields: &str) -> Value {
    json!({
        "allOf": [
            {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "const": kind}}},
            {"$ref": format!("#/components/schemas/{fields}")},
        ],
    })
}

/// The CloudEvents envelope every event has ([`crate::events::CloudEvent`]), around `data`:
/// the CloudEvents 1.0 attributes and the v2 extension attributes, all always sent.
fn cloud_event(types: Vec<String>, id: &str, data: Value) -> Value {
    let uuid = |description: &str| json!({"type": "string", "format": "uuid", "description": description});
    let properties = json!({
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": uuid(id),
        "source": {"type": "string", "pattern": "^/employes-sync/companies/[0-9a-f-]{36}$",
                   "description": "`/employes-sync/companies/<company_id>`."},
        "type": {"type": "string", "enum": types},
        "subject": uuid("The employee's id."),
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string", "enum": ["application/json"]},
        "companyid": uuid("The company's id."),
        "partitionkey": uuid("The employee's id: order one employee's events by `sequence`."),
        "sequence": {"type": "string", "pattern": "^[0-9]{20}$",
                     "description": "Per employee and stream (changes, milestones): 20 decimal digits, from \
                                     `00000000000000000001`, +1 per event, never reused (erasure keeps the count)."},
        "dataclassification": {"type": "string", "enum": ["confidential"]},
        "baseline": {"type": "boolean",
                     "description": "`true` on the events of a company's first sync (past transitions it found, \
                                     not fresh ones), else `false`."},
        "data": data,
    });
    let required: Vec<&String> = properties.as_object().expect("an object").keys().collect();
    json!({"type": "object", "required": required, "properties": properties})
}

/// Written from the contract's erasure paragraph: no personal data, so only ids and when.
fn employee_erased_event() -> Value {
    let data = json!({
        "type": "object",
        "required": ["employee_id", "company_id", "erased_at"],
        "properties": {
            "employee_id": {"type": "string", "format": "uuid"},
            "company_id": {"type": "string", "format": "uuid"},
            "erased_at": {"type": "string", "format": "date-time"},
        },
    });
    cloud_event(vec!["nl.employes.employee_erased".into()], "The event's id (also `Nats-Msg-Id`).", data)
}

/// `components.messages`.
pub fn messages() -> Value {
    let msg_id = |what: &str| {
        json!({"type": "object", "required": ["Nats-Msg-Id"],
               "properties": {"Nats-Msg-Id": {"type": "string", "description": what}}})
    };
    let entries = [
        (
            "admitWebhook",
            "A verified webhook, queued before any session exists",
            json!({"$ref": "#/components/schemas/AdmitWebhookTask"}),
            Some(msg_id("The `webhook-id`: a repeat within 24 h is dropped by the stream.")),
            "application/json",
        ),
        (
            "runSession",
            "Run (or resume) a session",
            json!({"$ref": "#/components/schemas/RunSessionTask"}),
            Some(msg_id(
                "The session's request id (its idempotency key, schedule slot or session id), or the \
                 joining trigger's: a repeat within 24 h is dropped by the stream.",
            )),
            "application/json",
        ),
        (
            "progress",
            "One progress event of a session",
            json!({"$ref": "#/components/schemas/ProgressEvent"}),
            None,
            "application/json",
        ),
        (
            "change",
            "One recorded change",
            json!({"$ref": "#/components/schemas/ChangeEvent"}),
            Some(msg_id("The change id (= the event's `id`): a republish after a crash is dropped by the stream.")),
            "application/cloudevents+json",
        ),
        (
            "employeeErased",
            "An employee's data was erased",
            json!({"$ref": "#/components/schemas/EmployeeErasedEvent"}),
            Some(msg_id("The event's id.")),
            "application/cloudevents+json",
        ),
        (
            "milestone",
            "One milestone event",
            json!({"$ref": "#/components/schemas/MilestoneEvent"}),
            Some(msg_id("The event's id (= the event's `id`): a republish after a crash is dropped by the stream.")),
            "application/cloudevents+json",
        ),
        (
            "deadLetter",
            "A task given up on",
            json!({"$ref": "#/components/schemas/DeadLetter"}),
            Some(msg_id(
                "`dead-<session_id>`, or `dead-seq-<stream sequence>` for a task that names no session: a \
                 task given up again within the window is recorded once.",
            )),
            "application/json",
        ),
        (
            "endpointsChanged",
            "An endpoint was registered, changed, disabled or deleted",
            json!({"$ref": "#/components/schemas/EndpointsChanged"}),
            None,
            "application/json",
        ),
        (
            "companiesChanged",
            "A company was added, changed or removed",
            json!({"$ref": "#/components/schemas/CompaniesChanged"}),
            None,
            "application/json",
        ),
    ];
    let mut messages = Map::new();
    for (name, title, payload, headers, content_type) in entries {
        let mut message = json!({"name": name, "title": title, "contentType": content_type, "payload": payload});
        if let Some(headers) = headers {
            message["headers"] = headers;
        }
        messages.insert(name.into(), message);
    }
    Value::Object(messages)
}
