//! What is per company or per token: the rate limit per bearer token, counters and faults per
//! company, and the control routes' `company_id` (default the first, unknown ones refused).

use serde_json::json;

use super::*;

fn two_companies(rate_limit: u32) -> SimConfig {
    SimConfig { employees: 10, with_history: 8, rate_limit, ..fast_config() }.with_companies(2)
}

/// Sends all `requests` (token, company) at once; the number answered 200 and 429.
async fn burst(sim: &TestSim, requests: &[(&str, Uuid)]) -> (usize, usize) {
    let sent = requests.iter().map(|(token, company)| sim.api_as(token, *company, "payruns"));
    let statuses: Vec<u16> = futures::future::join_all(sent).await.iter().map(|r| r.status().as_u16()).collect();
    (statuses.iter().filter(|s| **s == 200).count(), statuses.iter().filter(|s| **s == 429).count())
}

#[tokio::test]
async fn two_tokens_each_get_the_full_rate_and_one_token_shares_it_over_two_companies() {
    // Arrange: 4 requests per second per token, a burst of 4.
    let sim = start(two_companies(4)).await;
    let [a, b] = [sim.company_ids()[0], sim.company_ids()[1]];

    // Act
    let (two_tokens_ok, two_tokens_limited) =
        burst(&sim, &[("one", a), ("one", a), ("one", a), ("one", a), ("two", a), ("two", a), ("two", a), ("two", a)])
            .await;
    let (shared_ok, shared_limited) = burst(
        &sim,
        &[
            ("three", a),
            ("three", b),
            ("three", a),
            ("three", b),
            ("three", a),
            ("three", b),
            ("three", a),
            ("three", b),
        ],
    )
    .await;

    // Assert: a full burst each for "one" and "two"; "three" gets one burst over both companies
    // (at most one more request, should the bucket refill during the burst).
    assert_eq!((two_tokens_ok, two_tokens_limited), (8, 0));
    assert!(shared_ok <= 5 && shared_ok + shared_limited == 8, "{shared_ok} of 8 passed");
    assert!(shared_limited >= 3);
    let stats = sim.stats().await;
    assert_eq!(stats["rate_limited"], shared_limited as u64);
    let per_company: u64 =
        [a, b].iter().map(|c| stats["by_company"][c.to_string()]["rate_limited"].as_u64().expect("n")).sum();
    assert_eq!(per_company, shared_limited as u64);
}

#[tokio::test]
async fn stats_count_each_companys_requests_apart() {
    // Arrange
    let sim = start(two_companies(10_000)).await;
    let [a, b] = [sim.company_ids()[0], sim.company_ids()[1]];
    let id = sim.server.control.employee_id_of(b, 0).await;

    // Act
    for _ in 0..3 {
        sim.api_json_of(a, "employees").await;
    }
    sim.api_json_of(b, &format!("employees/{id}")).await;
    sim.api_json_of(b, &format!("employees/{id}/employments")).await;
    let of_b = sim.server.control.stats_of(b).await;
    let all = sim.stats().await;

    // Assert
    assert_eq!(of_b["company_id"], b.to_string());
    assert_eq!(of_b["requests"], 2);
    assert_eq!(of_b["by_endpoint"], json!({"list": 0, "detail": 1, "employments": 1, "payruns": 0}));
    assert_eq!(all["requests"], 5);
    assert_eq!(all["by_company"][a.to_string()]["requests"], 3);
    assert_eq!(all["by_company"][a.to_string()]["by_endpoint"]["list"], 3);
    assert_eq!(
        all["by_company"][b.to_string()],
        json!({
            "requests": 2, "rate_limited": 0, "errors_injected": 0,
            "by_endpoint": {"list": 0, "detail": 1, "employments": 1, "payruns": 0},
        })
    );

    // Act: reset one company's counters, then all.
    sim.server.control.post("/_sim/stats/reset", json!({"company_id": b})).await;
    let after_one = sim.stats().await;
    sim.server.control.post("/_sim/stats/reset", json!({})).await;
    let after_all = sim.stats().await;

    // Assert
    assert_eq!(after_one["by_company"][b.to_string()]["requests"], 0);
    assert_eq!(after_one["by_company"][a.to_string()]["requests"], 3);
    assert_eq!(after_all["requests"], 0);
    assert_eq!(after_all["by_company"][a.to_string()]["requests"], 0);
}

#[tokio::test]
async fn a_companys_own_faults_hit_only_that_company_and_global_faults_hit_all() {
    // Arrange
    let sim = start(two_companies(10_000)).await;
    let [a, b] = [sim.company_ids()[0], sim.company_ids()[1]];
    let control = &sim.server.control;

    // Act
    let set = control.faults_in(b, json!({"fail_next": 1, "error_status": 503})).await;
    let status = async |company: Uuid| sim.api_as("k", company, "employees").await.status().as_u16();
    let (a1, b1, b2) = (status(a).await, status(b).await, status(b).await);
    control.faults_in(b, json!({"reject_auth": true})).await;
    let (a2, b3) = (status(a).await, status(b).await);
    control.faults(json!({"fail_next": 2})).await;
    let (a3, b4) = (status(a).await, status(b).await);
    let cleared = sim.http.delete(format!("{}/_sim/faults?company_id={b}", control.root)).send().await.expect("send");

    // Assert
    assert_eq!(set["company_id"], b.to_string());
    assert_eq!(set["fail_next"], 1);
    assert_eq!((a1, b1, b2), (200, 503, 200));
    assert_eq!((a2, b3), (200, 401));
    assert_eq!((a3, b4), (503, 401), "global faults hit every company");
    let global = control.get("/_sim/faults").await;
    assert_eq!(global["fail_next"], 1);
    assert_eq!(global["reject_auth"], false);
    assert_eq!(cleared.status(), 200);
    assert_eq!(control.get(&format!("/_sim/faults?company_id={b}")).await["reject_auth"], false);
    let stats = sim.stats().await;
    assert_eq!(stats["by_company"][b.to_string()]["errors_injected"], 3);
    assert_eq!(stats["errors_injected"], 4);
}

#[tokio::test]
async fn a_rate_limit_for_one_company_is_refused_because_the_limit_is_per_token() {
    // Arrange
    let sim = start(two_companies(10_000)).await;
    let b = sim.company_ids()[1];

    // Act
    let resp = sim.control("faults", json!({"company_id": b, "rate_limit": 3})).await;

    // Assert
    assert_eq!(resp.status(), 400);
    let err: Value = resp.json().await.expect("json");
    assert!(err["message"].as_str().expect("message").contains("rate_limit"), "{err}");
}

#[tokio::test]
async fn control_routes_default_to_the_first_company_and_refuse_unknown_ones() {
    // Arrange
    let sim = start(two_companies(10_000)).await;
    let [a, b] = [sim.company_ids()[0], sim.company_ids()[1]];
    let of_b = sim.server.control.employee_id_of(b, 0).await;
    let unknown = Uuid::new_v4();
    let salary = json!({"kind": "salary", "employee_id": of_b, "month_wage": 3100, "start_date": "2026-12-01"});

    // Act
    let default_truth = sim.truth().await;
    let unknown_get = sim.control_get(&format!("employees?company_id={unknown}")).await;
    let malformed_get = sim.control_get("stats?company_id=not-a-uuid").await;
    let unknown_post = sim.control("mutations", json!({"kind": "hire", "company_id": unknown})).await;
    let without_company = sim.control("mutations", salary.clone()).await;
    let with_company = sim.server.control.mutate_in(b, salary).await;

    // Assert
    assert_eq!(default_truth["company_id"], a.to_string());
    assert_eq!(unknown_get.status(), 404);
    assert_eq!(unknown_get.json::<Value>().await.expect("json")["error"], "unknown_company");
    assert_eq!(malformed_get.status(), 400);
    assert_eq!(unknown_post.status(), 400);
    assert_eq!(unknown_post.json::<Value>().await.expect("json")["error"], "unknown_company");
    assert_eq!(without_company.status(), 400);
    let err: Value = without_company.json().await.expect("json");
    assert_eq!(err["error"], "unknown_employee");
    assert!(err["message"].as_str().expect("message").contains(&b.to_string()), "names the owner: {err}");
    assert_eq!(with_company["employee_id"], of_b);
    let history = sim.api_json_of(b, &format!("employees/{of_b}/employments")).await;
    let last = history["data"][0]["salary"].as_array().expect("salary").last().expect("a period").clone();
    assert_eq!(last["month_wage"], 3100.0);
    assert_eq!(employees(&sim.server.control.truth_of(a).await).len(), 10, "hire into an unknown company added nobody");
}

#[tokio::test]
async fn a_companys_own_latency_replaces_the_simulator_wide_one_for_that_company_only() {
    // Arrange
    let sim = start(two_companies(10_000)).await;
    let [a, b] = [sim.company_ids()[0], sim.company_ids()[1]];
    let set = sim.server.control.faults_in(b, json!({"latency_ms": 3000})).await;
    let timed = async |company: Uuid| {
        let started = std::time::Instant::now();
        assert_eq!(sim.api_as("k", company, "payruns").await.status(), 200);
        started.elapsed()
    };

    // Act
    let (slow, fast) = (timed(b).await, timed(a).await);
    let unset = sim.server.control.faults_in(b, json!({"latency_ms": null})).await;

    // Assert
    assert_eq!(set["latency_ms"], 3000);
    assert!(slow.as_millis() >= 3000, "{slow:?}");
    assert!(fast < slow, "{fast:?} vs {slow:?}");
    assert_eq!(unset["latency_ms"], Value::Null);
    assert_eq!(sim.server.control.get("/_sim/faults").await["latency_ms"], 0);
}
