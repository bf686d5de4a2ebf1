//! The Employes API it serves: bearer auth, the company, detail and employments answers, the rate limit.

use serde_json::json;

use super::*;

#[tokio::test]
async fn requests_without_a_bearer_token_are_rejected_with_401() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let none = sim.http.get(sim.url("employees")).send().await.expect("send");
    let empty = sim.http.get(sim.url("employees")).header("authorization", "Bearer ").send().await.expect("send");

    // Assert
    assert_eq!(none.status(), 401);
    assert_eq!(empty.status(), 401);
    let body: Value = none.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn a_wrong_company_id_answers_404_and_other_paths_403() {
    // Arrange
    let sim = start(fast_config()).await;
    let other = format!("{}/{}/employees", sim.base, Uuid::new_v4());

    // Act
    let wrong = sim.http.get(other).header("authorization", TOKEN).send().await.expect("send");
    let forbidden = sim.api("departments").await;

    // Assert
    assert_eq!(wrong.status(), 404);
    assert!(wrong.json::<Value>().await.expect("json")["error"].is_string());
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn detail_is_wrapped_in_data_for_odd_employee_numbers_only() {
    // Arrange
    let sim = start(fast_config()).await;
    let list = sim.api_json("employees?per_page=2").await;

    for e in list["data"].as_array().expect("data") {
        // Act
        let id = e["id"].as_str().expect("id");
        let detail = sim.api_json(&format!("employees/{id}")).await;

        // Assert
        let odd = e["employee_number"].as_i64().expect("number") % 2 != 0;
        let record = if odd { &detail["data"] } else { &detail };
        assert_eq!(record["id"], e["id"]);
    }
    assert_eq!(sim.api(&format!("employees/{}", Uuid::new_v4())).await.status(), 404);
}

#[tokio::test]
async fn employees_without_history_answer_404_or_an_empty_list() {
    // Arrange
    let sim = start(fast_config()).await;
    let truth = sim.truth().await;
    let (without, with): (Vec<&Value>, Vec<&Value>) =
        employees(&truth).iter().partition(|e| e["employments"].as_array().expect("array").is_empty());
    assert_eq!(without.len(), 11);

    // Act
    let (mut not_found, mut empty) = (0, 0);
    for e in &without {
        let id = e["id"].as_str().expect("id");
        let resp = sim.api(&format!("employees/{id}/employments")).await;
        match resp.status().as_u16() {
            404 => not_found += 1,
            200 => {
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body["data"], json!([]));
                empty += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let id = with[0]["id"].as_str().expect("id");
    let history = sim.api_json(&format!("employees/{id}/employments")).await;

    // Assert
    assert_eq!((not_found, empty), (6, 5));
    assert_eq!(history["data"].as_array().expect("data").len(), 1);
    assert_eq!(history["data"], with[0]["employments"]);
}

#[tokio::test]
async fn a_burst_beyond_the_rate_limit_gets_429_with_retry_after_and_is_counted() {
    // Arrange
    let sim = start(SimConfig { rate_limit: 5, ..fast_config() }).await;

    // Act
    let burst = (0..12).map(|_| sim.api("payruns"));
    let responses = futures::future::join_all(burst).await;

    // Assert
    let limited: Vec<&reqwest::Response> = responses.iter().filter(|r| r.status() == 429).collect();
    assert!(limited.len() >= 5, "only {} limited", limited.len());
    for r in &limited {
        let secs: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("whole seconds");
        assert!(secs >= 1);
    }
    let stats = sim.stats().await;
    assert_eq!(stats["rate_limited"], limited.len() as u64);
    assert_eq!(stats["requests"], 12);
    assert_eq!(stats["by_endpoint"]["payruns"], 12);
}
