//! Secrets and personal data never reach the logs or the metrics.

use super::*;

/// Where `needle` occurs in `haystack` as a whole token (not inside a longer word or number).
fn occurs_as_token(haystack: &str, needle: &str) -> Option<usize> {
    let numeric = needle.chars().all(|c| c.is_ascii_digit() || c == '.');
    let is_word = |c: char| c.is_alphanumeric() || numeric && matches!(c, '.' | '-');
    haystack.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// Logs without what is known not to be data but can look like a wage: UUIDs (worker,
/// session and request ids) and request latencies (`"latency":"2577 ms"`).
fn scrub(logs: &str) -> String {
    let is_uuid = |b: &[u8]| {
        b.len() >= 36
            && b[..36]
                .iter()
                .enumerate()
                .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { *c == b'-' } else { c.is_ascii_hexdigit() })
    };
    let bytes = logs.as_bytes();
    let mut out = String::with_capacity(logs.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_uuid(&bytes[i..]) {
            out.push_str("<uuid>");
            i += 36;
        } else if bytes[i..].starts_with(b"\"latency\":\"") {
            let end = logs[i + 11..].find('"').map_or(bytes.len(), |e| i + 11 + e + 1);
            out.push_str("\"latency\":\"-\"");
            i = end;
        } else {
            let c = logs[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn trace_logs_and_metrics_never_contain_personal_data_or_secrets() {
    // Arrange: the service as a child process logging everything at trace level.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    env.start_simulator();
    let mut svc = spawn_binary(&env, "http,worker,scheduler", &[("RUST_LOG", "trace")]);
    let app = env.attach(svc.http_addr().await).await;

    // Act: a full sync, an upstream change of personal data and wages, its webhook, reads.
    assert_eq!(app.sync_and_wait(None).await["status"], "completed");
    let employee = app.sim.employee_id(4).await;
    let new_email = "leak.probe.4471@example.nl";
    app.sim.mutate(json!({"kind": "personal", "employee_id": employee, "field": "email", "value": new_email})).await;
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": 9876.5, "start_date": "2027-01-01"}))
        .await;
    let webhook = Webhook::event("employee.updated", &employee);
    webhook.deliver(&app, Duration::from_secs(10)).await;
    let s = app.wait_for_session(&app.webhook_session(&webhook.id).await).await;
    assert_eq!(s["changes_detected"], 2, "{s}");
    let jwt = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"email": "hr.lead@example.nl", "exp": chrono::Utc::now().timestamp() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let changes = app.http.get(app.url("/api/changes?limit=500")).bearer_auth(&jwt).send().await.unwrap();
    assert_eq!(changes.status(), 200);
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    svc.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(svc.wait_exit(Duration::from_secs(15)).await.is_some());
    let logs = svc.output();

    // Assert
    let truth = app.sim.truth().await;
    let mut forbidden: Vec<(String, String)> = [
        ("EMPLOYES_API_KEY", "test-api-key-secret-value"),
        ("WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("webhook key", std::str::from_utf8(WEBHOOK_KEY).unwrap()),
        ("AUTH_JWT_SECRET", JWT_SECRET),
        ("API token", API_TOKEN),
        ("user JWT", jwt.as_str()),
        ("new email", new_email),
        ("new wage", "9876.5"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for e in truth["employees"].as_array().unwrap() {
        for field in ["first_name", "surname", "email", "iban", "phone_number", "date_of_birth", "street"] {
            if let Some(v) = e[field].as_str().filter(|v| v.len() >= 3) {
                forbidden.push((field.to_string(), v.to_string()));
            }
        }
        for period in e["employments"][0]["salary"].as_array().into_iter().flatten() {
            if let Some(w) = period["month_wage"].as_f64() {
                forbidden.push(("month_wage".into(), employes_sync::domain::format_number(w)));
            }
        }
    }
    assert!(forbidden.len() > 500, "{} values", forbidden.len());
    assert!(logs.lines().count() > 100, "trace logs were captured");
    let logs = scrub(&logs);
    // The checker itself finds a planted value, and not one inside an id.
    let planted = scrub(r#"{"new_value":"2577","worker_id":"worker-4bd53935-2577-4010-b063-ff570aa4a38c"}"#);
    assert_eq!(occurs_as_token(&planted, "2577"), Some(14));
    assert_eq!(occurs_as_token(&scrub(r#"{"id":"4bd53935-2577-4010-b063-ff570aa4a38c"}"#), "2577"), None);
    let mut leaks = Vec::new();
    for (what, value) in &forbidden {
        for (place, text) in [("logs", &logs), ("/metrics", &metrics)] {
            if let Some(at) = occurs_as_token(text, value) {
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let line: String = text[line_start..].chars().take(300).collect();
                leaks.push(format!("{what} {value:?} in {place}: {line}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
}
