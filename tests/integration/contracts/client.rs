//! A Python client generated from the served document with openapi-python-client (no warning
//! allowed) runs `tests/contracts/client_smoke.py`: sync, follow, changes and paging, sessions.

use crate::helpers::*;

#[tokio::test]
async fn a_client_generated_from_the_document_requests_a_sync_follows_it_and_pages_through_what_it_found() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let url = app.url("");
    // Act
    let run = tokio::task::spawn_blocking(move || testkit::contracts::tool(&["python-client", &url, API_TOKEN], &[]))
        .await
        .unwrap();
    // Assert
    if let Some(output) = run.passed("the generated Python client's smoke test") {
        assert!(output.contains("client smoke: done"), "{output}");
    }
    app.stop().await;
}
