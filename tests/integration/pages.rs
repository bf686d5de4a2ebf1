//! What a person opens in a browser, and what a subscriber reads of a change: the dashboard at
//! either address, the API documentation page, and the typed amounts of a change.

use employes_sync::cli::Role;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn the_dashboard_answers_with_and_without_a_trailing_slash() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for path in ["/employes-sync", "/employes-sync/"] {
        // Act
        let resp = client.get(app.url(path)).send().await.unwrap();
        // Assert
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let page = resp.text().await.unwrap();
        assert!(page.contains(r#"src="/employes-sync/main.js""#), "{path}: not the dashboard");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_api_documentation_page_is_served_from_the_binary_and_reads_the_openapi_document() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    // Act: no token (the document is public, like /api/openapi.json).
    let page = app.http.get(app.url("/api/docs")).send().await.unwrap();
    let initializer = app.http.get(app.url("/api/docs/swagger-initializer.js")).send().await.unwrap();
    let bundle = app.http.get(app.url("/api/docs/swagger-ui-bundle.js")).send().await.unwrap();
    // Assert
    assert_eq!(page.url().path(), "/api/docs/", "redirected to the page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"), "Swagger UI's page");
    assert_eq!(initializer.status(), 200);
    assert!(initializer.text().await.unwrap().contains("/api/openapi.json"), "it loads this service's document");
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000, "the UI itself is embedded (no CDN)");
    app.stop().await;
}

#[tokio::test]
async fn changes_carry_their_old_and_new_amounts_as_numbers_in_the_api_and_the_cloudevents() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    // Act: the baseline's salary, hours and contract changes.
    assert_eq!(app.sync_and_wait(None).await["status"], "completed");
    let listed = app.get_json("/api/changes").await["changes"].as_array().unwrap().clone();
    let events = change_events(&app).await;
    // Assert
    let of = |changes: &[Value], kind: &str| -> Value {
        changes.iter().find(|c| c["change_type"] == kind).cloned().unwrap_or_else(|| panic!("no {kind}"))
    };
    let data: Vec<Value> = events.iter().map(|e| e["data"].clone()).collect();
    for changes in [&listed, &data] {
        let salary = of(changes, "salary_change");
        assert_eq!((salary["old_value"].clone(), salary["new_value"].clone()), (json!("2577"), json!("2709")));
        assert_eq!((salary["old_amount"].clone(), salary["new_amount"].clone()), (json!(2577.0), json!(2709.0)));
        let hours = of(changes, "hours_change");
        let old: f64 = hours["old_value"].as_str().unwrap().parse().unwrap();
        assert_eq!(hours["old_amount"].as_f64(), Some(old), "{hours}");
        assert!(hours["new_amount"].is_number(), "{hours}");
        let contract = of(changes, "contract_change");
        assert!(contract["old_value"].is_string(), "{contract}");
        assert_eq!((contract["old_amount"].clone(), contract["new_amount"].clone()), (Value::Null, Value::Null));
    }
    let doc = app.get_json("/api/openapi.json").await;
    let schemas = &doc["components"]["schemas"];
    let documented = serde_json::to_string(&schemas["ChangeView"]).unwrap();
    for field in ["old_amount", "new_amount", "ChangeRow"] {
        assert!(documented.contains(field), "ChangeView documents {field}: {documented}");
    }
    app.stop().await;
}
