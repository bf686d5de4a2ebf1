//! Injected faults: error rates per endpoint, fail-next, malformed JSON, timeouts, a revoked key, bad settings.

use std::time::Duration;

use serde_json::json;

use super::*;

#[tokio::test]
async fn an_error_rate_on_employments_only_leaves_the_list_working() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let set =
        sim.control("faults", json!({"error_rate": 1.0, "error_status": 503, "endpoints": ["employments"]})).await;
    assert_eq!(set.status(), 200);
    let state: Value = set.json().await.expect("json");
    assert_eq!(state["error_rate"], 1.0);
    assert_eq!(state["endpoints"], json!(["employments"]));

    // Act
    let list = sim.api("employees").await;
    let history = sim.api(&format!("employees/{id}/employments")).await;

    // Assert
    assert_eq!(list.status(), 200);
    assert_eq!(history.status(), 503);
    assert_eq!(sim.stats().await["errors_injected"], 1);
}

#[tokio::test]
async fn fail_next_fails_exactly_the_next_n_requests_then_recovers() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"fail_next": 2, "error_status": 429, "retry_after": 3})).await;

    // Act
    let first = sim.api("employees").await;
    let second = sim.api("payruns").await;
    let third = sim.api("employees").await;

    // Assert
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "3");
    assert_eq!(second.status(), 429);
    assert_eq!(third.status(), 200);
    let stats = sim.stats().await;
    assert_eq!(stats["errors_injected"], 2);
    assert_eq!(stats["rate_limited"], 0);
}

#[tokio::test]
async fn a_malformed_fault_answers_200_with_invalid_json() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"malformed_rate": 1.0})).await;

    // Act
    let resp = sim.api("employees").await;

    // Assert
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn a_timeout_fault_holds_the_answer_until_the_client_gives_up() {
    // Arrange
    let mut sim = start(fast_config()).await;
    sim.control("faults", json!({"timeout_rate": 1.0})).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");

    // Act
    let result = impatient.get(sim.url("employees")).header("authorization", TOKEN).send().await;

    // Assert
    assert!(result.expect_err("should time out").is_timeout());
    assert!(sim.server.stop().await, "simulator did not stop");
}

#[tokio::test]
async fn reject_auth_answers_401_even_with_a_valid_token() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"reject_auth": true})).await;

    // Act
    let rejected = sim.api("employees").await;
    sim.control("faults", json!({"reject_auth": false})).await;
    let accepted = sim.api("employees").await;

    // Assert
    assert_eq!(rejected.status(), 401);
    assert_eq!(accepted.status(), 200);
}

#[tokio::test]
async fn out_of_range_fault_values_are_rejected_with_400() {
    // Arrange
    let sim = start(fast_config()).await;
    let bad = [
        json!({"error_rate": 1.5}),
        json!({"timeout_rate": -0.1}),
        json!({"error_status": 200}),
        json!({"rate_limit": 0}),
        json!({"endpoints": ["salaries"]}),
        json!({"reject_auth": "yes"}),
        json!({"nonsense": 1}),
    ];

    for body in bad {
        // Act
        let resp = sim.control("faults", body.clone()).await;

        // Assert
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"].is_string() && err["message"].is_string());
    }
    let state: Value = sim.control("faults", json!({})).await.json().await.expect("json");
    assert_eq!(state["error_rate"], 0.0);
    assert_eq!(state["rate_limit"], 10_000);
}
