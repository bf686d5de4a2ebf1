//! How a user learns the simulator: `simulate --help` describes every option, the OpenAPI
//! document lists every control route and mutation kind, and bad options name themselves.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use clap::CommandFactory as _;
use serde_json::json;

use super::*;

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_employes-sync"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn simulate_help_describes_every_option_with_a_readable_value_name() {
    // Arrange
    let cli = employes_sync::cli::Cli::command();
    let simulate = cli.find_subcommand("simulate").expect("a simulate command");
    let options: Vec<&clap::Arg> =
        simulate.get_arguments().filter(|a| a.get_long().is_some_and(|l| l != "config")).collect();

    // Act
    let out = binary().args(["simulate", "--help"]).output().expect("run");

    // Assert
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).expect("utf-8");
    assert!(options.len() >= 13, "{} options", options.len());
    for arg in options {
        let long = arg.get_long().expect("long");
        let described = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        assert!(described.len() > 15, "--{long} has no description");
        let value_names: Vec<String> =
            arg.get_value_names().unwrap_or_default().iter().map(|v| v.to_string()).collect();
        assert!(!value_names.is_empty(), "--{long} has no value name");
        let default_name = arg.get_id().as_str().to_uppercase();
        assert!(
            value_names.iter().all(|v| *v != default_name),
            "--{long} <{default_name}> has clap's default value name"
        );
        let line = format!("--{long} <{}>", value_names.join(" "));
        assert!(help.contains(&line), "help lacks {line:?}");
        assert!(help.contains(described.lines().next().expect("a line")), "help lacks the description of --{long}");
    }
    for must in ["--companies", "--company-size", "--company-key", "{company_id}"] {
        assert!(help.contains(must), "help lacks {must}");
    }
}

#[test]
fn simulate_with_three_companies_prints_each_company_and_its_size() {
    // Arrange
    let port = testkit::free_port();

    // Act
    let mut child = binary()
        .args(["simulate", "--addr", &format!("127.0.0.1:{port}"), "--companies", "3", "--employees", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let printed: Vec<String> = (0..4).map(|_| lines.next().expect("a line").expect("utf-8")).collect();
    child.kill().expect("kill");
    child.wait().expect("wait");

    // Assert
    assert!(
        printed[0].contains("company_id=7e3f2a10-5b6c-4d8e-9f01-23456789abcd") && printed[0].contains("companies=3"),
        "{printed:?}"
    );
    assert!(printed[1].starts_with("company 7e3f2a10-5b6c-4d8e-9f01-23456789abcd employees=4"), "{printed:?}");
    assert!(printed[2..].iter().all(|l| l.starts_with("company ") && l.contains("employees=4")), "{printed:?}");
}

#[test]
fn a_size_or_key_for_a_company_that_is_not_simulated_exits_naming_the_option() {
    for option in ["--company-size", "--company-key"] {
        // Act
        let out = binary()
            .args(["simulate", "--addr", "127.0.0.1:0", option, &format!("{}=5", Uuid::new_v4())])
            .output()
            .expect("run");

        // Assert
        assert!(!out.status.success(), "{option}");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        assert!(stderr.contains(option) && stderr.contains("not one of the 1 simulated"), "{stderr}");
    }
    let bad = binary().args(["simulate", "--company-size", "nope=5"]).output().expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--company-size"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_control_route_and_every_mutation_kind() {
    // Arrange
    let sim = start(fast_config()).await;
    let expected: BTreeSet<(String, String)> = [
        ("post", "/_sim/mutations"),
        ("post", "/_sim/faults"),
        ("get", "/_sim/faults"),
        ("delete", "/_sim/faults"),
        ("get", "/_sim/stats"),
        ("post", "/_sim/stats/reset"),
        ("get", "/_sim/employees"),
        ("get", "/_sim/companies"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();

    // Act
    let doc = sim.server.control.get("/_sim/openapi.json").await;

    // Assert
    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| ops.as_object().expect("ops").keys().map(|m| (m.clone(), p.clone())))
        .collect();
    assert_eq!(documented, expected);
    for (method, path) in &expected {
        let op = &doc["paths"][path][method];
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path} has no summary");
        assert!(op["responses"]["200"].is_object(), "{method} {path} documents no success");
    }
    let kinds: Vec<String> = doc["components"]["schemas"]["Mutation"]["oneOf"]
        .as_array()
        .expect("mutation kinds")
        .iter()
        .map(|k| k["properties"]["kind"]["enum"][0].as_str().expect("kind").to_string())
        .collect();
    assert_eq!(kinds.len(), 9, "{kinds:?}");
    for kind in kinds {
        let resp = sim.control("mutations", json!({"kind": kind})).await;
        let answer: Value = resp.json().await.expect("json");
        assert_ne!(answer["error"], "unknown_kind", "documented kind {kind} is not accepted");
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_according_to_openapi_spec_validator() {
    // Arrange
    let sim = start(fast_config()).await;
    let doc = sim.server.control.get("/_sim/openapi.json").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("sim-openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");

    // Act
    let path = file.to_str().expect("a UTF-8 path").to_string();
    let run = tokio::task::spawn_blocking(move || testkit::contracts::tool(&["openapi-validate", &path], &[]))
        .await
        .expect("the validator runs");

    // Assert
    run.passed("openapi-spec-validator on the simulator's document");
}
