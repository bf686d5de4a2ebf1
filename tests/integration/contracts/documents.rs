//! Both documents are served, without a token, as they are in the repository.

use employes_sync::asyncapi;

use crate::helpers::*;

#[tokio::test]
async fn both_documents_are_served_without_a_token_and_the_asyncapi_one_is_the_repository_file() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let file = std::fs::read_to_string(testkit::repo_root().join(asyncapi::FILE)).unwrap();
    // Act
    let yaml = app.http.get(app.url(asyncapi::PATH)).send().await.unwrap();
    let json = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    // Assert
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    assert!(yaml.text().await.unwrap() == file, "GET {} is not {}", asyncapi::PATH, asyncapi::FILE);
    assert_eq!(json.status(), 200);
    let doc: serde_json::Value = json.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"][asyncapi::PATH]["get"].is_object(), "the AsyncAPI route is in the OpenAPI document");
    app.stop().await;
}
