//! schemathesis against the running service: every check (server errors, status codes, content
//! types, headers and schemas of responses, schema-valid requests accepted and invalid ones refused,
//! authentication enforced, methods, every response field documented), every phase (examples,
//! coverage, fuzzing, stateful sequences over the document's links), warnings as failures, once
//! per caller. Settings: `tests/contracts/schemathesis.toml`; hooks: `schemathesis_hooks.py`.

use crate::helpers::*;

/// Who schemathesis calls as, one run each: (role, token). Until roles exist every token is an
/// operator; with roles, add the admin's and the viewer's tokens here and to `API_TOKENS` below
/// (their 403s must then be documented).
const CALLERS: &[(&str, &str)] = &[("operator", API_TOKEN)];

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say_for_any_caller() {
    // Arrange: the service with the simulator as Employes; webhooks signed by the hooks.
    let mut env = TestEnv::new().await;
    let tokens: Vec<String> = CALLERS.iter().map(|(role, token)| format!("{role}:{token}")).collect();
    env.set("API_TOKENS", &tokens.join(","));
    let app = env.spawn_app().await;
    let url = app.url("");
    // Act
    let run = tokio::task::spawn_blocking(move || {
        let mut args = vec!["schemathesis", url.as_str()];
        args.extend(CALLERS.iter().map(|(_, token)| *token));
        testkit::contracts::tool(&args, &[("CONTRACT_WEBHOOK_SECRET", WEBHOOK_SECRET)])
    })
    .await
    .unwrap();
    // Assert
    if let Some(output) = run.passed("schemathesis") {
        assert!(output.contains("No issues found"), "{output}");
    }
    app.stop().await;
}
