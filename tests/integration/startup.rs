//! Start-up as an operator meets it: a dependency that does not answer is named (its URL, never
//! its credentials) and given up after `STARTUP_TIMEOUT`; every error is one line, said once.

use std::{collections::HashMap, path::Path, time::Duration};

use testkit::process::serve_command;

use crate::helpers::*;

/// The binary's `serve` with exactly `settings` (nothing of this process's environment).
fn serve(settings: &HashMap<String, String>, extra: &[(&str, &str)]) -> ServiceProcess {
    let settings = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).chain(extra.iter().copied());
    ServiceProcess::spawn(serve_command(Path::new(env!("CARGO_BIN_EXE_employes-sync")), "http,worker", settings))
}

/// The lines of `output` that are not JSON log lines (what the binary printed itself).
fn printed(output: &str) -> Vec<&str> {
    output.lines().filter(|l| !l.starts_with('{')).collect()
}

#[tokio::test]
async fn an_unreachable_nats_is_named_without_its_password_and_given_up_after_startup_timeout() {
    // Arrange: a database that works, a NATS URL nothing answers on (port 1: no test's server can
    // take it, as a free port might be), with credentials in it.
    let env = TestEnv::new().await;
    let port = 1;
    let url = format!("nats://operator:n4ts-s3cret@127.0.0.1:{port}");
    // Act
    let mut svc = serve(&env.settings, &[("NATS_URL", &url), ("STARTUP_TIMEOUT", "2s")]);
    let status = svc.wait_exit(Duration::from_secs(30)).await;
    // Assert
    let output = svc.output();
    assert!(status.is_some_and(|s| !s.success()), "still running or exited 0: {status:?}\n{output}");
    let shown = format!("nats://127.0.0.1:{port}");
    let errors = printed(&output);
    assert_eq!(errors.len(), 1, "one line: {output}");
    assert!(
        errors[0].starts_with(&format!("error: NATS at {shown} did not answer within 2s (STARTUP_TIMEOUT)")),
        "{output}"
    );
    let waiting = output.lines().find(|l| l.contains("waiting for NATS")).unwrap_or_else(|| panic!("{output}"));
    assert!(waiting.contains(r#""level":"WARN""#) && waiting.contains(&shown), "{waiting}");
    let leaks: Vec<&str> = output.lines().filter(|l| l.contains("n4ts-s3cret")).collect();
    assert!(leaks.is_empty(), "the password is shown: {leaks:?}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_named_without_its_password_and_given_up_after_startup_timeout() {
    // Arrange
    let env = TestEnv::new().await;
    let port = 1;
    let url = format!("postgres://postgres:pg-s3cret@127.0.0.1:{port}/employes_sync");
    // Act
    let mut svc = serve(&env.settings, &[("DATABASE_URL", &url), ("STARTUP_TIMEOUT", "2s")]);
    let status = svc.wait_exit(Duration::from_secs(30)).await;
    // Assert
    let output = svc.output();
    assert!(status.is_some_and(|s| !s.success()), "still running or exited 0: {status:?}\n{output}");
    let shown = format!("postgres://127.0.0.1:{port}/employes_sync");
    let errors = printed(&output);
    assert_eq!(errors.len(), 1, "one line: {output}");
    assert!(errors[0].starts_with(&format!("error: Postgres at {shown} did not answer within 2s")), "{output}");
    assert!(output.lines().any(|l| l.contains("waiting for Postgres") && l.contains(r#""level":"WARN""#)), "{output}");
    let leaks: Vec<&str> = output.lines().filter(|l| l.contains("pg-s3cret")).collect();
    assert!(leaks.is_empty(), "the password is shown: {leaks:?}");
}

#[tokio::test]
async fn a_database_that_does_not_exist_is_said_once_at_once() {
    // Arrange: the server answers, the database is not there (waiting cannot help).
    let env = TestEnv::new().await;
    let base = env.settings["DATABASE_URL"].rsplit_once('/').unwrap().0.to_string();
    let url = format!("{base}/es_no_such_database");
    // Act
    let mut svc = serve(&env.settings, &[("DATABASE_URL", &url), ("STARTUP_TIMEOUT", "60s")]);
    let status = svc.wait_exit(Duration::from_secs(20)).await;
    // Assert
    let output = svc.output();
    assert!(status.is_some_and(|s| !s.success()), "{status:?}\n{output}");
    let errors = printed(&output);
    assert_eq!(errors.len(), 1, "{output}");
    assert_eq!(errors[0].matches("does not exist").count(), 1, "said once: {}", errors[0]);
    assert!(errors[0].contains("es_no_such_database") && errors[0].contains("DATABASE_URL"), "{}", errors[0]);
}

#[tokio::test]
async fn a_taken_address_is_named_by_its_key_and_binding_is_said_once() {
    // Arrange: the in-process simulator's address is taken.
    let env = TestEnv::new().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut settings = env.settings.clone();
    for key in ["EMPLOYES_API_URL", "EMPLOYES_API_KEY", "EMPLOYES_COMPANY_ID"] {
        settings.remove(key);
    }
    for (key, expected) in [("SIMULATOR_ADDR", "SIMULATOR_ADDR "), ("HTTP_ADDR", "HTTP_ADDR ")] {
        // Act
        let mut svc = serve(&settings, &[(key, &addr)]);
        let status = svc.wait_exit(Duration::from_secs(30)).await;
        // Assert
        let output = svc.output();
        assert!(status.is_some_and(|s| !s.success()), "{key}: {status:?}\n{output}");
        let errors = printed(&output);
        assert_eq!(errors.len(), 1, "{output}");
        assert!(errors[0].starts_with(&format!("error: {expected}")) && errors[0].contains(&addr), "{}", errors[0]);
        assert!(errors[0].matches("binding").count() <= 1, "{}", errors[0]);
    }
}

#[test]
fn bad_values_say_what_is_expected_in_one_line() {
    for (key, value, expected) in [
        ("EMPLOYES_RATE_LIMIT", "abc", r#"EMPLOYES_RATE_LIMIT: expected a whole number, got "abc""#),
        ("DATABASE_URL", "mysql://root:hunter2@db/app", "DATABASE_URL: expected a URL like postgres://"),
        ("STARTUP_TIMEOUT", "soon", "STARTUP_TIMEOUT: \"soon\" is not a duration like 30s, 5m or 6h"),
    ] {
        // Act
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_employes-sync"))
            .arg("migrate")
            .env_clear()
            .env(key, value)
            .output()
            .unwrap();
        // Assert
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{key}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}
