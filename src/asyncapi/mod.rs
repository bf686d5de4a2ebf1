//! The AsyncAPI 3 document of the NATS side: every channel the service publishes on or reads
//! from, each message's headers and payload. `docs/asyncapi.yaml` is this document, and the
//! service serves it at `GET /api/asyncapi.yaml`.
//!
//! It cannot drift from the code: payload schemas are derived from the types that are published
//! ([`schemas`]), `asyncapi::tests` fails when `docs/asyncapi.yaml` differs from what [`yaml`]
//! makes, and the integration test `contracts::events` validates every message a full scenario
//! publishes on every subject against this document — an undocumented subject, header or field
//! fails it. Channels the contract promises that nothing publishes yet are marked coming
//! ([`Channel::coming`]); those tests fail as soon as one is published, so whoever publishes it
//! makes the document say so.

mod schemas;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::{Map, Value, json};
use strum::VariantArray as _;

use crate::{
    bus::streams::{self, RetentionPolicy, StreamSpec},
    domain::{ChangeType, milestones::MilestoneKind},
};

/// Where the document is in the repository.
pub const FILE: &str = "docs/asyncapi.yaml";

/// Where the service serves it.
pub const PATH: &str = "/api/asyncapi.yaml";

/// One channel: a subject pattern, what it carries and, for JetStream, the stream that keeps it.
pub struct Channel {
    pub id: &'static str,
    /// The subject, with `{parameter}`s (always `{prefix}` first).
    pub address: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Component message names.
    pub messages: &'static [&'static str],
    /// The stream that stores it, or `None` for core NATS.
    pub stream: Option<&'static StreamSpec>,
    /// Promised by the contract, not published yet.
    pub coming: bool,
    /// `send`: the service publishes it; `receive` too when the service also reads it.
    pub received: bool,
}

/// How the document names a stream's retention (JetStream's own word, lower-cased).
pub fn retention_name(retention: RetentionPolicy) -> &'static str {
    match retention {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::WorkQueue => "workqueue",
    }
}

/// Every channel of the contract.
pub const CHANNELS: &[Channel] = &[
    Channel {
        id: "syncRequests",
        address: "{prefix}.sync.requests.{company_id}",
        title: "Sync queue",
        description: "The durable work queue of sync tasks, one subject per company: a verified webhook waiting to \
                      be admitted into a session (`admit_webhook`), or a session to run (`run_session`). Written \
                      by the HTTP role, the scheduler and the CLI; read by the workers' one durable pull consumer. \
                      `Nats-Msg-Id` deduplicates repeats within the stream's window. The stream still binds the \
                      first version's `{prefix}.sync.requests`, so tasks queued before an upgrade are drained \
                      (read as the first version's company's).",
        messages: &["admitWebhook", "runSession"],
        stream: Some(&streams::SYNC),
        coming: false,
        received: true,
    },
    Channel {
        id: "progress",
        address: "{prefix}.sync.progress.{session_id}",
        title: "Session progress",
        description: "A session's progress: at each stage's start, at least every 10 items or 500 ms while it runs, \
                      and at its end; the session's last event has `\"stage\":\"session\"` and its final status. \
                      `GET /api/sync/sessions/{id}/events` and `employes-sync sync --wait` replay and follow it.",
        messages: &["progress"],
        stream: Some(&streams::PROGRESS),
        coming: false,
        received: false,
    },
    Channel {
        id: "changes",
        address: "{prefix}.changes.{company_id}.{change_type}",
        title: "Changes",
        description: "Each recorded change, once, as a CloudEvent (structured JSON). Subscribe to `{prefix}.changes.>` \
                      for every company's, `{prefix}.changes.{company_id}.>` for one company's.",
        messages: &["change"],
        stream: Some(&streams::CHANGES),
        coming: false,
        received: false,
    },
    Channel {
        id: "employeeErased",
        address: "{prefix}.changes.{company_id}.employee_erased",
        title: "Employee erased",
        description: "An employee's stored data was erased (`POST /api/employees/{id}/erase`); no personal data.",
        messages: &["employeeErased"],
        stream: None,
        coming: false,
        received: false,
    },
    Channel {
        id: "milestones",
        address: "{prefix}.milestones.{company_id}.{kind}",
        title: "Milestones",
        description: "What is about to happen (contract ends, notice due, chain rule, changes taking effect): each \
                      milestone's `detected`, `reminder`s (`MILESTONE_REMINDERS` days before), `due`, `overdue` and \
                      `resolved`, each once, as a CloudEvent (structured JSON). Subscribe to \
                      `{prefix}.milestones.>` for every company's, `{prefix}.milestones.{company_id}.>` for one \
                      company's, `{prefix}.milestones.*.notice_due` for one kind.",
        messages: &["milestone"],
        stream: Some(&streams::MILESTONES),
        coming: false,
        received: false,
    },
    Channel {
        id: "deadLetters",
        address: "{prefix}.sync.dead",
        title: "Dead letters",
        description: "Sync tasks the worker gave up on, with why and after how many attempts: a session claimed \
                      `WORKER_MAX_DELIVER` times, a message that is not a task, a task whose session or company \
                      does not exist. Counted in `employes_sync_dead_letters_total`.",
        messages: &["deadLetter"],
        stream: Some(&streams::DEAD),
        coming: false,
        received: false,
    },
    Channel {
        id: "endpointReplays",
        address: "{prefix}.endpoints.replay.{endpoint_id}",
        title: "Endpoint replays",
        description: "Events queued again for one endpoint (`POST /api/endpoints/{id}/replay`): copies, as they were \
                      published, of the change and milestone events of the range that match the endpoint. The \
                      endpoint's replay consumer (on the worker replicas) delivers them to its URL like any event \
                      and acks them, which removes them (a work queue). Not for subscribers.",
        messages: &["change", "employeeErased", "milestone"],
        stream: Some(&streams::ENDPOINT_REPLAYS),
        coming: false,
        received: true,
    },
    Channel {
        id: "endpointsChanged",
        address: "{prefix}.control.endpoints",
        title: "Endpoint changes",
        description: "Core NATS, not stored: an endpoint was registered, changed, disabled or deleted; every \
                      replica's dispatcher looks at the endpoints again at once (and does so every 10 s in any case).",
        messages: &["endpointsChanged"],
        stream: None,
        coming: false,
        received: true,
    },
    Channel {
        id: "companiesChanged",
        address: "{prefix}.control.companies",
        title: "Company changes",
        description: "Core NATS, not stored: a company was added, changed or removed; every replica reloads its \
                      companies (and does so every 30 s in any case).",
        messages: &["companiesChanged"],
        stream: None,
        coming: false,
        received: true,
    },
];

/// The document, as JSON.
pub fn document() -> Value {
    serde_json::to_value(build()).expect("the document serializes")
}

/// The document as YAML: what `docs/asyncapi.yaml` holds and the service serves.
pub fn yaml() -> String {
    let text = serde_norway::to_string(&build()).expect("the document serializes as YAML");
    format!("{HEADER}{text}")
}

fn build() -> Document {
    let mut channels = Map::new();
    let mut operations = Map::new();
    for channel in CHANNELS {
        channels.insert(channel.id.into(), channel_object(channel));
        let messages: Vec<Value> = channel
            .messages
            .iter()
            .map(|m| json!({"$ref": format!("#/channels/{}/messages/{m}", channel.id)}))
            .collect();
        let mut actions = vec![("publish", "send")];
        if channel.received {
            actions.push(("consume", "receive"));
        }
        for (verb, action) in actions {
            let id = format!("{verb}{}{}", channel.id[..1].to_uppercase(), &channel.id[1..]);
            let summary = match action {
                "send" => format!("The service publishes {}.", channel.title.to_lowercase()),
                _ => format!("The service consumes {}.", channel.title.to_lowercase()),
            };
            operations.insert(
                id,
                json!({"action": action, "channel": {"$ref": format!("#/channels/{}", channel.id)},
                       "summary": summary, "messages": messages}),
            );
        }
    }
    Document {
        asyncapi: "3.0.0",
        info: json!({
            "title": "employes-sync events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
        }),
        default_content_type: "application/json",
        servers: json!({"nats": {
            "host": "127.0.0.1:4222",
            "protocol": "nats",
            "description": "The NATS (with JetStream) of `NATS_URL`; subjects and streams are named after \
                            `NATS_SUBJECT_PREFIX` (`{prefix}`; streams use it upper-cased, `{PREFIX}`).",
        }}),
        channels: Value::Object(channels),
        operations: Value::Object(operations),
        components: json!({
            "parameters": parameters(),
            "messages": schemas::messages(),
            "schemas": schemas::schemas(),
        }),
    }
}

/// Why `on_disk` is not `generated`: the first line that differs, and how to regenerate.
pub fn stale_report(on_disk: &str, generated: &str) -> String {
    let first = on_disk.lines().zip(generated.lines()).position(|(a, b)| a != b);
    let line = first.unwrap_or_else(|| on_disk.lines().count().min(generated.lines().count()));
    format!(
        "{FILE} is not what the code generates (first difference at line {}: {:?} on disk, {:?} generated). \
         A published type or a channel changed: regenerate it with `ASYNCAPI_WRITE=1 cargo test --lib asyncapi` \
         and commit it with the change.",
        line + 1,
        on_disk.lines().nth(line).unwrap_or("<end of file>"),
        generated.lines().nth(line).unwrap_or("<end of file>"),
    )
}

/// The first lines of the file: what it is and how it is made.
const HEADER: &str = "# AsyncAPI 3 document of employes-sync's NATS side, generated from the code (src/asyncapi/):\n\
                      # do not edit. Regenerate with `ASYNCAPI_WRITE=1 cargo test --lib asyncapi`.\n";

const DESCRIPTION: &str = "What employes-sync publishes on NATS JetStream (and the sync queue it reads). \
    Subscribers read `{prefix}.changes.>` for changes (CloudEvents 1.0, structured JSON, one message per change, \
    each published once: `Nats-Msg-Id` is the event id) and `{prefix}.sync.progress.{session_id}` for a \
    session's progress. Every CloudEvent also carries `companyid`, `partitionkey` (the employee), a per-employee \
    `sequence` (order one employee's events by it), `dataclassification` and `baseline` (a first sync's past \
    transitions); docs/subscribers.md shows how to consume them. Channels marked *coming* are promised by the contract and not published yet.";

/// The top level in the order a reader expects (nested maps are sorted).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    asyncapi: &'static str,
    info: Value,
    default_content_type: &'static str,
    servers: Value,
    channels: Value,
    operations: Value,
    components: Value,
}

fn channel_object(c: &Channel) -> Value {
    let parameters: Map<String, Value> = c
        .address
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .map(|name| (name.to_string(), json!({"$ref": format!("#/components/parameters/{name}")})))
        .collect();
    let messages: Map<String, Value> =
        c.messages.iter().map(|m| (m.to_string(), json!({"$ref": format!("#/components/messages/{m}")}))).collect();
    let description = if c.coming {
        format!("*Coming* (in the contract, not published yet). {}", c.description)
    } else {
        c.description.into()
    };
    let mut channel = json!({
        "address": c.address,
        "title": c.title,
        "description": description,
        "parameters": parameters,
        "messages": messages,
    });
    if let Some(s) = c.stream {
        channel["x-jetstream"] = json!({
            "stream": s.name,
            "subjects": s.subjects,
            "retention": retention_name(s.retention),
            "max_age_secs": s.max_age.as_secs(),
            "duplicate_window_secs": s.duplicate_window.as_secs(),
        });
    }
    if c.coming {
        channel["x-coming"] = json!(true);
    }
    channel
}

fn parameters() -> Value {
    let change_types: Vec<&str> = ChangeType::VARIANTS.iter().map(|t| t.as_str()).collect();
    let kinds: Vec<&'static str> = MilestoneKind::VARIANTS.iter().map(|&k| k.into()).collect();
    json!({
        "prefix": {"description": "`NATS_SUBJECT_PREFIX`: letters, digits, `_` and `-`, at most 64.",
                   "default": "employes"},
        "session_id": {"description": "The session's id (a UUID)."},
        "change_type": {"description": "The change's type.", "enum": change_types},
        "company_id": {"description": "The company's id (a UUID)."},
        "kind": {"description": "The milestone's kind.", "enum": kinds},
        "endpoint_id": {"description": "The endpoint's id (a UUID)."},
    })
}
