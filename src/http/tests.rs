//! The HTTP surface as a whole: every route is documented, the document is valid OpenAPI 3
//! with enums, bounds and error answers stated, and the handler modules keep their layering.
//! (schemathesis holds the document to the running server: `tests/integration/contracts`.)

use std::{collections::HashMap, path::PathBuf};

use serde_json::Value;
use strum::VariantArray;

use crate::{
    config::Config,
    domain::{BusinessImpact, ChangeType, IssueKind, IssueStatus, Scope, SessionStatus, Source, Stage, StageStatus},
};

/// The document as `/api/openapi.json` serves it, as JSON.
fn document() -> Value {
    let config = Config::from_map(&HashMap::new()).expect("the default configuration is valid");
    super::openapi::to_json(&super::documented(&config).into_openapi())
}

/// (method, path, operation id) of every documented operation, sorted by path.
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let id = operation["operationId"].as_str().unwrap_or_default().to_string();
            all.push((method.to_uppercase(), path.clone(), id));
        }
    }
    all.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    all
}

/// Production source of the files directly under `src/http/` (each file up to its tests).
fn http_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("src/http exists")
        .map(|entry| entry.expect("a readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            let production = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
            (path.file_name().unwrap().to_string_lossy().into_owned(), production)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_operation_has_a_unique_id_named_after_its_resource_and_verb() {
    // Arrange
    let doc = document();
    // Act
    let ops = operations(&doc);
    // Assert
    let expected = [
        ("GET", "/api/asyncapi.yaml", "get_asyncapi"),
        ("GET", "/api/audit", "list_audit"),
        ("GET", "/api/changes", "list_changes"),
        ("GET", "/api/companies", "list_companies"),
        ("POST", "/api/companies", "add_company"),
        ("DELETE", "/api/companies/{id}", "delete_company"),
        ("GET", "/api/companies/{id}", "get_company"),
        ("PATCH", "/api/companies/{id}", "change_company"),
        ("POST", "/api/companies/{id}/check", "check_company"),
        ("GET", "/api/employees", "list_employees"),
        ("GET", "/api/employees/{id}", "get_employee"),
        ("POST", "/api/employees/{id}/erase", "erase_employee"),
        ("GET", "/api/endpoints", "list_endpoints"),
        ("POST", "/api/endpoints", "add_endpoint"),
        ("DELETE", "/api/endpoints/{id}", "delete_endpoint"),
        ("GET", "/api/endpoints/{id}", "get_endpoint"),
        ("PATCH", "/api/endpoints/{id}", "change_endpoint"),
        ("GET", "/api/endpoints/{id}/attempts", "list_endpoint_attempts"),
        ("POST", "/api/endpoints/{id}/replay", "replay_endpoint"),
        ("POST", "/api/endpoints/{id}/rotate-secret", "rotate_endpoint_secret"),
        ("GET", "/api/issues", "list_issues"),
        ("GET", "/api/me", "get_me"),
        ("GET", "/api/milestones", "list_milestones"),
        ("POST", "/api/milestones/{id}/resolve", "resolve_milestone"),
        ("GET", "/api/openapi.json", "get_openapi"),
        ("GET", "/api/stats", "get_stats"),
        ("POST", "/api/sync", "request_sync"),
        ("GET", "/api/sync/activity", "follow_sync_activity"),
        ("GET", "/api/sync/sessions", "list_sessions"),
        ("GET", "/api/sync/sessions/{id}", "get_session"),
        ("GET", "/api/sync/sessions/{id}/events", "follow_session_events"),
        ("GET", "/api/sync/status", "get_sync_status"),
        ("GET", "/healthz", "healthz"),
        ("GET", "/metrics", "metrics"),
        ("GET", "/readyz", "readyz"),
        ("POST", "/webhooks/employes", "receive_webhook"),
        ("POST", "/webhooks/employes/{company_id}", "receive_company_webhook"),
    ];
    let ops: Vec<(&str, &str, &str)> = ops.iter().map(|(m, p, i)| (m.as_str(), p.as_str(), i.as_str())).collect();
    assert_eq!(ops, expected);
    let mut ids: Vec<&str> = ops.iter().map(|(_, _, id)| *id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ops.len(), "operation ids repeat");
}

/// `names` of a strum enum, as the database, JSON and the document spell them.
fn names<T: VariantArray + Copy + Into<&'static str>>() -> Vec<Value> {
    T::VARIANTS.iter().map(|v| Value::from((*v).into())).collect()
}

#[test]
fn every_typed_state_is_an_enum_in_the_document_and_every_limit_states_its_bounds() {
    // Arrange
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let sync_status = ["never", "syncing", "current", "outdated", "error"].map(Value::from).to_vec();
    // Act
    let enums = [
        ("ChangeType", names::<ChangeType>()),
        ("BusinessImpact", names::<BusinessImpact>()),
        ("Source", names::<Source>()),
        ("Scope", names::<Scope>()),
        ("SessionStatus", names::<SessionStatus>()),
        ("Stage", names::<Stage>()),
        ("StageStatus", names::<StageStatus>()),
        ("SyncStatus", sync_status),
        ("IssueKind", names::<IssueKind>()),
        ("IssueStatus", names::<IssueStatus>()),
    ];
    // Assert
    for (name, values) in enums {
        assert_eq!(schemas[name]["enum"].as_array(), Some(&values), "{name}: {}", schemas[name]);
    }
    let reference = |schema: &Value| schema.to_string();
    let row = |name: &str, field: &str| reference(&schemas[name]["properties"][field]);
    assert!(row("SessionRow", "status").contains("#/components/schemas/SessionStatus"));
    assert!(row("SessionRow", "source").contains("#/components/schemas/Source"));
    assert!(row("StageRow", "stage").contains("#/components/schemas/Stage"));
    assert!(row("ChangeRow", "change_type").contains("#/components/schemas/ChangeType"));
    assert!(row("ChangeRow", "business_impact").contains("#/components/schemas/BusinessImpact"));
    assert!(row("StatusView", "status").contains("#/components/schemas/SyncStatus"));
    let parameter = |path: &str, name: &str| -> Value {
        let params = doc["paths"][path]["get"]["parameters"].as_array().expect("parameters");
        params.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{path} has no {name}"))["schema"].clone()
    };
    assert!(row("CompanyView", "status").contains("#/components/schemas/SyncStatus"));
    for (path, max, default) in [
        ("/api/sync/sessions", 500, 20),
        ("/api/changes", 500, 50),
        ("/api/issues", 500, 100),
        ("/api/companies", 500, 100),
    ] {
        let limit = parameter(path, "limit");
        assert_eq!((limit["type"].as_str(), limit["minimum"].as_f64()), (Some("integer"), Some(1.0)), "{limit}");
        assert_eq!((limit["maximum"].as_f64(), limit["default"].as_i64()), (Some(f64::from(max)), Some(default)));
    }
    assert!(reference(&parameter("/api/sync/sessions", "source")).contains("#/components/schemas/Source"));
    assert!(reference(&parameter("/api/sync/sessions", "status")).contains("#/components/schemas/SessionStatus"));
    assert!(reference(&parameter("/api/changes", "type")).contains("#/components/schemas/ChangeType"));
    assert_eq!(parameter("/api/changes", "employee_id")["format"], "uuid");
    assert_eq!(parameter("/api/changes", "since")["format"], "date-time");
    use super::paging::{CursorKey, TimeKey};
    let exact = |pattern: String| format!("^{pattern}$");
    for (path, pattern) in [
        ("/api/sync/sessions", exact(TimeKey::pattern())),
        ("/api/changes", exact(crate::db::changes::ChangeKey::pattern())),
        ("/api/issues", exact(TimeKey::pattern())),
        ("/api/companies", exact(uuid::Uuid::pattern())),
        ("/api/milestones", exact(<(chrono::NaiveDate, uuid::Uuid)>::pattern())),
        ("/api/employees", exact(<(String, uuid::Uuid)>::pattern())),
    ] {
        let cursor = parameter(path, "cursor");
        assert_eq!((cursor["type"].as_str(), cursor["pattern"].as_str()), (Some("string"), Some(pattern.as_str())));
    }
    assert_eq!(parameter("/api/changes", "format")["enum"], serde_json::json!(["json", "csv"]));
}

#[test]
fn the_document_is_valid_openapi_according_to_openapi_spec_validator() {
    // Arrange
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document()).unwrap()).unwrap();
    // Act
    let run = testkit::contracts::tool(&["openapi-validate", file.to_str().unwrap()], &[]);
    // Assert
    run.passed("openapi-spec-validator on the document");
}

#[test]
fn every_error_answer_is_documented_with_the_error_json_and_every_bearer_route_can_answer_401() {
    // Arrange
    let doc = document();
    let mut problems = Vec::new();
    // Act
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses.iter().filter(|(status, _)| status.as_str() >= "400") {
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                let expected = if path == "/readyz" { "NotReady" } else { "ErrorBody" };
                if *schema != format!("#/components/schemas/{expected}") {
                    problems.push(format!("{method} {path} {status}: not answered with {expected}: {response}"));
                }
            }
            let bearer = operation["security"].as_array().is_some_and(|s| !s.is_empty());
            if bearer && !responses.contains_key("401") {
                problems.push(format!("{method} {path}: takes a bearer token but documents no 401"));
            }
        }
    }
    // Assert
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_api_and_webhook_route_documents_its_429_with_retry_after_and_the_health_routes_none() {
    // Arrange
    let doc = document();
    let mut problems = Vec::new();
    // Act
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let limited = &operation["responses"]["429"];
            let expected = path.starts_with("/api/") || path.starts_with("/webhooks/");
            let retry_after = &limited["headers"]["Retry-After"]["schema"];
            match (expected, limited.is_null()) {
                (true, true) => problems.push(format!("{method} {path}: no 429")),
                (true, false) if retry_after["type"] != "integer" || retry_after["minimum"] != 1 => {
                    problems.push(format!("{method} {path}: 429 without Retry-After seconds: {limited}"))
                }
                (false, false) => problems.push(format!("{method} {path}: is never limited but documents 429")),
                _ => {}
            }
        }
    }
    // Assert
    assert!(problems.is_empty(), "{problems:#?}");
    let events = &doc["paths"]["/api/sync/sessions/{id}/events"]["get"]["responses"]["429"]["description"];
    let events = events.as_str().unwrap();
    assert!(events.contains("SSE_MAX_PER_TOKEN") && events.contains("API_RATE_LIMIT"), "{events}");
    let webhooks = doc["paths"]["/webhooks/employes"]["post"]["responses"]["429"]["description"].as_str().unwrap();
    assert!(webhooks.contains("WEBHOOK_RATE_LIMIT"), "{webhooks}");
}

/// Where a `source` (production code of `file` under `src/http/`) registers a route by hand,
/// without `routes!` (so without documentation). Only the dashboard's pages may.
fn routes_without_documentation(sources: &[(String, String)]) -> Vec<String> {
    let undocumented = ["dashboard.rs"];
    let by_hand = [".route(", ".route_service(", ".nest(", ".nest_service(", ".fallback_service(", "Router::new("];
    sources
        .iter()
        .filter(|(file, _)| !undocumented.contains(&file.as_str()))
        .flat_map(|(file, source)| {
            // `OpenApiRouter::new()` registers through `routes!`; a plain `Router` does not.
            let source = source.replace("OpenApiRouter", "");
            by_hand.iter().filter(move |call| source.contains(**call)).map(move |call| format!("{file}: {call}"))
        })
        .collect()
}

#[test]
fn no_route_is_registered_without_its_documentation() {
    // Arrange
    let sources = http_sources();
    // Act
    let offenders = routes_without_documentation(&sources);
    // Assert
    assert!(
        offenders.is_empty(),
        "routes registered without `routes!` (so missing from /api/openapi.json): {offenders:?}; register each with \
         `OpenApiRouter::new().routes(routes!(handler))` and a `#[utoipa::path]` on the handler"
    );
}

#[test]
fn a_route_added_by_hand_to_a_handler_module_fails_the_documentation_check() {
    // Arrange: the real sources, and one handler module that also registers `/api/secret` by hand.
    let mut sources = http_sources();
    let (_, changes) = sources.iter_mut().find(|(file, _)| file == "changes.rs").expect("changes.rs");
    changes.push_str(
        "\npub fn more() -> axum::Router<AppState> {\n    \
         axum::Router::new().route(\"/api/secret\", axum::routing::get(|| async { \"hidden\" }))\n}\n",
    );
    // Act
    let offenders = routes_without_documentation(&sources);
    // Assert
    assert_eq!(offenders, ["changes.rs: .route(", "changes.rs: Router::new("]);
}

/// The sibling modules `source` names: each `use super::…;` statement's words, and the module
/// of each other `super::name` path.
fn siblings_named(source: &str) -> Vec<String> {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).map(str::to_string).collect()
    };
    source
        .match_indices("super::")
        .flat_map(|(at, found)| {
            let rest = &source[at + found.len()..];
            if source[..at].ends_with("use ") {
                words(rest.split(';').next().unwrap_or_default())
            } else {
                words(rest).into_iter().take(1).collect()
            }
        })
        .collect()
}

#[test]
fn handler_modules_do_not_import_one_another() {
    // Arrange: what two handlers share lives in `views`, `extract` or `auth`.
    let handlers = [
        "activity",
        "changes",
        "companies",
        "dashboard",
        "endpoints",
        "docs",
        "health",
        "issues",
        "me",
        "milestones",
        "sessions",
        "stats",
        "sync",
        "webhooks",
    ];
    let parent = ["mod.rs", "tests.rs"];
    // Act
    let offenders: Vec<String> = http_sources()
        .into_iter()
        .filter(|(file, _)| !parent.contains(&file.as_str()))
        .flat_map(|(file, source)| {
            siblings_named(&source)
                .into_iter()
                .filter(|name| handlers.contains(&name.as_str()))
                .map(move |name| format!("{file} uses super::{name}"))
                .collect::<Vec<_>>()
        })
        .collect();
    // Assert
    assert!(offenders.is_empty(), "{offenders:?}");
    assert_eq!(siblings_named("use super::{AppState, sessions::View};"), ["AppState", "sessions", "View"]);
    assert_eq!(siblings_named("let x = super::sync::f();"), ["sync"]);
}

#[test]
fn the_database_and_sync_layers_never_import_the_http_layer_or_its_error() {
    // Arrange
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut pending = vec![root.join("db"), root.join("sync"), root.join("domain"), root.join("bus")];
    let mut offenders = Vec::new();
    // Act
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for import in ["crate::error", "crate::http", "AppError"] {
            if source.contains(import) {
                offenders.push(format!("{}: {import}", path.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    // Assert
    assert!(offenders.is_empty(), "{offenders:?}");
}
