//! What holds the service to its published documents:
//!
//! - [`tool`]: the third-party checks of `scripts/contracts.sh` (openapi-spec-validator,
//!   @asyncapi/parser, schemathesis, a generated Python client), installed on first use.
//! - [`AsyncApi`]: which channel and message of the AsyncAPI document a NATS message is, or why it
//!   is none: a subject no channel has, a header or a payload field the message does not declare,
//!   a value its schema refuses, or something the document calls *coming*.

use std::{collections::BTreeMap, process::Command};

use jsonschema::Validator;
use serde_json::{Map, Value, json};

use crate::repo_root;

/// How a run of `scripts/contracts.sh` ended.
pub enum ToolRun {
    Passed(String),
    Failed(String),
    /// The tool could not be installed (no python3/venv, no node, no package index).
    Unavailable(String),
}

/// `scripts/contracts.sh args` with `envs`, its output collected.
pub fn tool(args: &[&str], envs: &[(&str, &str)]) -> ToolRun {
    let script = repo_root().join("scripts/contracts.sh");
    let run = Command::new("bash").arg(&script).args(args).envs(envs.iter().copied()).output().expect("bash runs");
    let output = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    match run.status.code() {
        Some(0) => ToolRun::Passed(output),
        Some(3) => ToolRun::Unavailable(output),
        _ => ToolRun::Failed(output),
    }
}

impl ToolRun {
    /// The output of a passing run; panics with the output of a failing one. A tool that could not
    /// be installed skips the check (`None`, with a SKIPPED line), unless `CONTRACT_TOOLS_REQUIRED`
    /// is set (`scripts/test.sh` sets it: CI never skips a contract check).
    pub fn passed(self, what: &str) -> Option<String> {
        match self {
            ToolRun::Passed(output) => Some(output),
            ToolRun::Failed(output) => panic!("{what} failed:\n{output}"),
            ToolRun::Unavailable(output) if std::env::var_os("CONTRACT_TOOLS_REQUIRED").is_some() => {
                panic!("{what}: the tool could not be installed (CONTRACT_TOOLS_REQUIRED is set):\n{output}")
            }
            ToolRun::Unavailable(output) => {
                eprintln!("SKIPPED {what}: the tool could not be installed:\n{output}");
                None
            }
        }
    }
}

/// A message of the document: its name, and its headers' and payload's schemas, closed (see
/// [`closed`]); `schema` is the payload's schema as written (its `$ref`s into `document`).
struct Message {
    name: String,
    headers: Option<Validator>,
    payload: Validator,
    schema: Value,
}

struct Channel {
    id: String,
    /// The address split at dots: a literal token or a `{parameter}` with its allowed values.
    tokens: Vec<Token>,
    coming: bool,
    messages: Vec<Message>,
}

enum Token {
    Literal(String),
    Parameter { name: String, values: Option<Vec<String>> },
}

/// What a message was, when the document describes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Described {
    pub channel: String,
    pub message: String,
}

/// The AsyncAPI document, ready to judge messages published under one subject prefix.
pub struct AsyncApi {
    document: Value,
    channels: Vec<Channel>,
    /// CloudEvents attributes the document lists as not emitted yet.
    coming_attributes: Vec<String>,
}

impl AsyncApi {
    /// `document` (JSON) with `{prefix}` = `prefix`; `coming_attributes` are the attributes the
    /// document describes but says are not emitted yet (`asyncapi::COMING_ATTRIBUTES`).
    pub fn new(document: &Value, prefix: &str, coming_attributes: &[&str]) -> AsyncApi {
        let parameters = &document["components"]["parameters"];
        let channels = document["channels"]
            .as_object()
            .expect("channels")
            .iter()
            .map(|(id, channel)| {
                let tokens = channel["address"]
                    .as_str()
                    .expect("an address")
                    .split('.')
                    .map(|token| match token.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                        Some("prefix") => Token::Literal(prefix.to_string()),
                        Some(name) => Token::Parameter {
                            name: name.to_string(),
                            values: parameters[name]["enum"]
                                .as_array()
                                .map(|v| v.iter().map(|v| v.as_str().unwrap().to_string()).collect()),
                        },
                        None => Token::Literal(token.to_string()),
                    })
                    .collect();
                let messages = channel["messages"]
                    .as_object()
                    .expect("messages")
                    .keys()
                    .map(|name| {
                        let message = &document["components"]["messages"][name];
                        let headers = message.get("headers").map(|h| validator(&closed(h, document, false)));
                        let payload = validator(&closed(&message["payload"], document, false));
                        Message { name: name.clone(), headers, payload, schema: message["payload"].clone() }
                    })
                    .collect();
                Channel { id: id.clone(), tokens, coming: channel["x-coming"] == json!(true), messages }
            })
            .collect();
        let coming_attributes = coming_attributes.iter().map(|a| a.to_string()).collect();
        AsyncApi { document: document.clone(), channels, coming_attributes }
    }

    /// Which channel and message `subject` with `headers` and `payload` is, or every reason it is none.
    pub fn describe(
        &self,
        subject: &str,
        headers: &BTreeMap<String, String>,
        payload: &[u8],
    ) -> Result<Described, String> {
        let channel = self.channels.iter().find(|c| c.matches(subject)).ok_or_else(|| {
            let known: Vec<&str> = self.channels.iter().map(|c| c.id.as_str()).collect();
            format!("`{subject}` is on no channel of docs/asyncapi.yaml (channels: {known:?}): add its channel")
        })?;
        if channel.coming {
            return Err(format!(
                "`{subject}` is on channel `{}`, which docs/asyncapi.yaml calls coming (not published yet): it is \
                 published now, so describe it from the type that publishes it and drop `coming` (src/asyncapi/)",
                channel.id
            ));
        }
        let payload: Value = serde_json::from_slice(payload).map_err(|e| format!("`{subject}`: not JSON ({e})"))?;
        if let Some(attribute) = self.coming_attributes.iter().find(|a| payload.get(a.as_str()).is_some()) {
            return Err(format!(
                "`{subject}` carries `{attribute}`, which docs/asyncapi.yaml lists as coming (not emitted yet): make \
                 it a field of the event's type and take it off asyncapi::COMING_ATTRIBUTES"
            ));
        }
        let headers = Value::Object(headers.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect());
        let mut reasons = Vec::new();
        for message in &channel.messages {
            let mut errors: Vec<String> = Vec::new();
            match &message.headers {
                Some(schema) => {
                    errors.extend(schema.iter_errors(&headers).map(|e| format!("headers{}: {e}", path(&e))))
                }
                None if headers.as_object().is_some_and(|h| !h.is_empty()) => {
                    errors.push(format!("headers: the message declares none, the message has {headers}"))
                }
                None => {}
            }
            errors.extend(message.payload.iter_errors(&payload).map(|e| format!("payload{}: {e}", path(&e))));
            if errors.is_empty() {
                errors.extend(nulls_not_required(&payload, &[&message.schema], &self.document, "payload"));
            }
            if errors.is_empty() {
                return Ok(Described { channel: channel.id.clone(), message: message.name.clone() });
            }
            reasons.push(format!("as `{}`: {}", message.name, errors.join("; ")));
        }
        Err(format!(
            "`{subject}` (channel `{}`) is not what docs/asyncapi.yaml says: {}",
            channel.id,
            reasons.join(" | ")
        ))
    }

    /// The ids of the channels the document calls coming.
    pub fn coming_channels(&self) -> Vec<String> {
        self.channels.iter().filter(|c| c.coming).map(|c| c.id.clone()).collect()
    }
}

impl Channel {
    fn matches(&self, subject: &str) -> bool {
        let parts: Vec<&str> = subject.split('.').collect();
        parts.len() == self.tokens.len()
            && parts.iter().zip(&self.tokens).all(|(part, token)| match token {
                Token::Literal(literal) => part == literal,
                Token::Parameter { values: Some(values), .. } => values.iter().any(|v| v == part),
                Token::Parameter { values: None, name } => !part.is_empty() && !name.is_empty(),
            })
    }
}

/// `schema` and every schema merged into it, `$ref`s followed.
fn branches<'a>(schema: &'a Value, root: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = root.pointer(reference.trim_start_matches('#')).expect("a reference the validator resolved");
        return branches(target, root, out);
    }
    out.push(schema);
    for keyword in ["allOf", "oneOf", "anyOf"] {
        for sub in schema.get(keyword).and_then(Value::as_array).into_iter().flatten() {
            branches(sub, root, out);
        }
    }
}

/// Fields `value` sends as `null` that no schema of `schemas` lists as `required`: a field sent
/// even when empty is always there, and the document must say so (clients generated from it
/// otherwise treat it as optional).
fn nulls_not_required(value: &Value, schemas: &[&Value], root: &Value, at: &str) -> Vec<String> {
    let mut all = Vec::new();
    for schema in schemas {
        branches(schema, root, &mut all);
    }
    let mut problems = Vec::new();
    match value {
        Value::Object(fields) => {
            for (name, item) in fields {
                let required =
                    all.iter().any(|s| s["required"].as_array().is_some_and(|r| r.iter().any(|n| n == name)));
                if item.is_null() && !required {
                    problems
                        .push(format!("{at}/{name}: sent as null (so always sent) but not `required` in the schema"));
                }
                let declared: Vec<&Value> = all.iter().filter_map(|s| s["properties"].get(name)).collect();
                problems.extend(nulls_not_required(item, &declared, root, &format!("{at}/{name}")));
            }
        }
        Value::Array(items) => {
            let declared: Vec<&Value> = all.iter().filter_map(|s| s.get("items")).collect();
            for (i, item) in items.iter().enumerate() {
                problems.extend(nulls_not_required(item, &declared, root, &format!("{at}/{i}")));
            }
        }
        _ => {}
    }
    problems
}

fn path(error: &jsonschema::ValidationError<'_>) -> String {
    let at = error.instance_path().to_string();
    if at.is_empty() { String::new() } else { format!(" at {at}") }
}

fn validator(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("the document has a schema the validator cannot read ({e}): {schema}"))
}

/// `schema` with every `$ref` into `root` inlined, and closed: no object may hold a property the
/// schema does not name (`unevaluatedProperties: false` on every schema that is not merged into
/// another by `allOf`/`oneOf`/`anyOf`/`if`/`then`/`else`, whose names count for the one that
/// merges them). The document itself stays open (subscribers must tolerate new fields); the test
/// is closed, so a field the code adds without the document fails it.
pub fn closed(schema: &Value, root: &Value, merged: bool) -> Value {
    closed_at(schema, root, merged, 0)
}

fn closed_at(schema: &Value, root: &Value, merged: bool, depth: usize) -> Value {
    assert!(depth < 64, "the schema nests deeper than 64 levels (a reference cycle?)");
    let Some(object) = schema.as_object() else { return schema.clone() };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("not a local reference: {reference}"));
        let target = root.pointer(pointer).unwrap_or_else(|| panic!("{reference} points nowhere"));
        return closed_at(target, root, merged, depth + 1);
    }
    let mut out = Map::new();
    for (keyword, value) in object {
        let value = match keyword.as_str() {
            "properties" | "patternProperties" => Value::Object(
                value
                    .as_object()
                    .expect("a map of schemas")
                    .iter()
                    .map(|(name, s)| (name.clone(), closed_at(s, root, false, depth + 1)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "contains" => closed_at(value, root, false, depth + 1),
            "prefixItems" => Value::Array(
                value.as_array().expect("a list").iter().map(|s| closed_at(s, root, false, depth + 1)).collect(),
            ),
            "allOf" | "oneOf" | "anyOf" => Value::Array(
                value.as_array().expect("a list").iter().map(|s| closed_at(s, root, true, depth + 1)).collect(),
            ),
            "if" | "then" | "else" | "not" => closed_at(value, root, true, depth + 1),
            _ => value.clone(),
        };
        out.insert(keyword.clone(), value);
    }
    if !merged && !out.contains_key("additionalProperties") {
        out.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}
