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

async fn run_sync_wait(env: &TestEnv, extra: &[&str]) -> (i32, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_employes-sync"));
    cmd.arg("sync").arg("--wait").args(extra).envs(&env.settings).env("LOG_FORMAT", "json");
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
    assert!(s["sessions"][0]["triggered_by"].as_str().unwrap().starts_with("cli:"));
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
