//! schemathesis against the running service: every check (server errors, status codes, content
//! types, headers and schemas of responses, schema-valid requests accepted and invalid ones refused,
//! authentication enforced, methods, every response field documented), every phase (examples,
//! coverage, fuzzing, stateful sequences over the document's links), warnings as failures, once
//! per caller. Settings: `tests/contracts/schemathesis.toml`; hooks: `schemathesis_hooks.py`.

use crate::helpers::*;

/// Who schemathesis calls as, one run each: (role, token); each is an `API_TOKENS` entry
/// `<role>:<token>:<role>` below, so every 403 a role gets must be documented. (No `SECRETS_KEY`
/// is set, so the admin's generated companies are refused with `secrets_key_missing`.)
const CALLERS: &[(&str, &str)] =
    &[("viewer", "viewer-token-0123456789abcdef"), ("operator", API_TOKEN), ("admin", "admin-token-0123456789abcdef")];

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_say_for_any_caller() {
    // Arrange: the service with the simulator as Employes; webhooks signed by the hooks.
    let mut env = TestEnv::new().await;
    let tokens: Vec<String> = CALLERS.iter().map(|(role, token)| format!("{role}:{token}:{role}")).collect();
    env.set("API_TOKENS", &tokens.join(","));
    // Companies may be added with keys and secrets (stored sealed under SECRETS_KEY).
    env.set("SECRETS_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let app = env.spawn_app().await;
    let url = app.url("");
    // Act
    let run = tokio::task::spawn_blocking(move || {
        let mut args = vec!["schemathesis", url.as_str()];
        args.extend(CALLERS.iter().map(|(_, token)| *token));
        testkit::contracts::tool(
            &args,
            &[
                ("CONTRACT_WEBHOOK_SECRET", WEBHOOK_SECRET),
                ("CONTRACT_COMPANY_ID", "7e3f2a10-5b6c-4d8e-9f01-23456789abcd"),
            ],
        )
    })
    .await
    .unwrap();
    // Assert
    if let Some(output) = run.passed("schemathesis") {
        assert!(output.contains("No issues found"), "{output}");
    }
    app.stop().await;
}
