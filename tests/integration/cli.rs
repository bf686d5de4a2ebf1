//! The binary's commands, run as child processes.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::json;

use crate::helpers::*;

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_employes-sync"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

#[test]
fn a_bad_configuration_value_prints_one_line_naming_the_key_and_exits_non_zero() {
    for (key, value) in
        [("EMPLOYES_RATE_LIMIT", "fast"), ("SYNC_SCHEDULE", "every morning"), ("WEBHOOK_SECRET", "not-a-whsec")]
    {
        let out = binary().arg("migrate").env(key, value).output().unwrap();
        assert!(!out.status.success(), "{key}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(key), "{stderr}");
    }
}

#[test]
fn secrets_in_a_bad_configuration_are_not_echoed() {
    let out = binary().arg("migrate").env("API_TOKENS", "ci:short").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("API_TOKENS") && !stderr.contains("short"), "{stderr}");
}

#[test]
fn simulate_prints_its_base_url_and_company_id() {
    let port = free_port();
    let mut child = binary()
        .args(["simulate", "--addr", &format!("127.0.0.1:{port}"), "--employees", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains(&format!("base_url=http://127.0.0.1:{port}/v4")), "{line}");
    assert!(line.contains("company_id=7e3f2a10-5b6c-4d8e-9f01-23456789abcd"), "{line}");
}

/// Who `id -un` says runs this test.
fn login_name() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn run_sync_wait(env: &TestEnv, extra: &[&str]) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_employes-sync"));
    cmd.arg("sync").arg("--wait").args(extra).envs(&env.settings).env("LOG_FORMAT", "json").env_remove("SUDO_USER");
    let out = cmd.output().await.unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string())
}

#[tokio::test]
async fn sync_wait_follows_the_session_and_exits_by_its_status() {
    // Arrange: a worker to run the request.
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    // Act / Assert: completed → 0 with a summary.
    let (code, stdout) = run_sync_wait(&env, &[]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("completed: 110 employees, 99 with history, 3 changes, 0 errors"), "{stdout}");
    let s = app.get_json("/api/sync/sessions?limit=1").await;
    assert_eq!(s["sessions"][0]["source"], "api");
    assert_eq!(s["sessions"][0]["triggered_by"], login_name(), "the operator, by their login name");
    // Some employments failing → completed_with_errors → 2.
    let employee = app.sim.employee_id(0).await;
    app.sim.faults(json!({"fail_next": 20, "error_status": 503, "endpoints": ["employments"]})).await;
    let (code, stdout) = run_sync_wait(&env, &["--employee", &employee]).await;
    assert_eq!(code, 2, "{stdout}");
    // The key rejected → failed → 1.
    app.sim.faults(json!({"reject_auth": true, "fail_next": 0})).await;
    let (code, stdout) = run_sync_wait(&env, &[]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("Employes rejected the API key"), "{stdout}");
    app.stop().await;
}

#[tokio::test]
async fn sync_as_a_name_records_that_operator_with_source_api() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    // Act
    let out = binary().args(["sync", "--as", "Ana de Vries (on call)"]).envs(&env.settings).output().unwrap();
    // Assert
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = app.get_json("/api/sync/sessions?limit=1").await;
    assert_eq!(
        (s["sessions"][0]["source"].as_str(), s["sessions"][0]["triggered_by"].as_str()),
        (Some("api"), Some("Ana de Vries (on call)"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_token_from_the_token_command_signs_a_person_in_as_a_manual_trigger() {
    // Arrange: the service and the command share AUTH_JWT_SECRET (as the demo sets it up).
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![employes_sync::cli::Role::Http]).await;
    let out = binary()
        .args(["token", "--email", "hr.lead@example.nl", "--ttl", "10m"])
        .env("AUTH_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // Act: what the dashboard does when Sync Now is clicked.
    let (status, body) = reply(app.http.post(app.url("/api/sync")).bearer_auth(&token).send().await.unwrap()).await;
    // Assert
    assert_eq!(status, 202, "{body}");
    let s = app.get_json(&format!("/api/sync/sessions/{}", body["session_id"].as_str().unwrap())).await;
    assert_eq!((s["source"].as_str(), s["triggered_by"].as_str()), (Some("manual"), Some("hr.lead@example.nl")));
    app.stop().await;
}

#[test]
fn token_refuses_without_a_secret_or_an_address() {
    let no_secret = binary().args(["token", "--email", "a@example.nl"]).output().unwrap();
    assert!(!no_secret.status.success());
    assert!(String::from_utf8_lossy(&no_secret.stderr).contains("AUTH_JWT_SECRET is not set"));
    let no_address = binary().args(["token", "--email", "nobody"]).env("AUTH_JWT_SECRET", "x").output().unwrap();
    assert!(!no_address.status.success());
    assert!(String::from_utf8_lossy(&no_address.stderr).contains("--email must be an e-mail address"));
}

fn help(args: &[&str], flag: &str) -> String {
    let out = binary().args(args).arg(flag).output().unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn serve_help_lists_every_environment_variable_with_its_default() {
    // Act
    let text = help(&["serve"], "--help");
    // Assert
    for doc in employes_sync::config::reference::REFERENCE {
        let shown = match doc.default {
            employes_sync::config::reference::DefaultValue::Value(v) => format!("{} [default: {v}]", doc.key),
            employes_sync::config::reference::DefaultValue::Unset(what) => format!("{} [unset: {what}]", doc.key),
        };
        assert!(text.contains(&shown), "serve --help lacks {shown:?}:\n{text}");
        assert!(text.contains(doc.meaning), "{}", doc.key);
    }
    for key in employes_sync::config::KEYS {
        assert!(text.contains(&format!("  {key} [")), "{key} is not in serve --help");
    }
    assert!(text.contains("--roles <ROLE,...>") && text.contains("Roles this process runs"), "{text}");
}

#[test]
fn every_option_but_simulates_has_a_description_and_a_readable_value_name() {
    // Arrange
    let cases: [(&[&str], &[&str]); 5] = [
        (&["serve"], &["--roles <ROLE,...>", "--config <FILE>"]),
        (&["migrate"], &["--config <FILE>"]),
        (&["sync"], &["--employee <ID>", "--wait", "--as <NAME>"]),
        (&["token"], &["--email <ADDRESS>", "--ttl <DURATION>"]),
        (&["healthcheck"], &["--url <URL>"]),
    ];
    for (command, options) in cases {
        // Act (-h: each option on one line with its description)
        let text = help(command, "-h");
        // Assert: each option's line carries a description after it.
        for option in options {
            let line = text.lines().find(|l| l.trim_start().starts_with(option));
            let line = line.unwrap_or_else(|| panic!("{command:?}: no {option}:\n{text}"));
            assert!(line.trim_start().len() > option.len() + 5, "{command:?}: {option} has no description:\n{text}");
        }
    }
    let sync = help(&["sync"], "--help");
    assert!(sync.contains("DATABASE_URL") && sync.contains("NATS_URL"), "sync --help names what it reads:\n{sync}");
}
