//! Many companies: each its own data set by the first version's rules, deterministic and
//! distinct ids, sizes per company, `GET /v4/companies` and per-company keys.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::json;

use super::*;

fn companies_config(n: usize) -> SimConfig {
    SimConfig { employees: 20, with_history: 15, ..fast_config() }.with_companies(n)
}

fn ids_of(truth: &Value) -> Vec<String> {
    employees(truth).iter().map(|e| e["id"].as_str().expect("id").to_string()).collect()
}

#[tokio::test]
async fn each_of_three_companies_serves_its_own_data_set_with_exactly_three_transitions() {
    // Arrange
    let sim = start(companies_config(3)).await;
    let expected = vec![
        ("contracts".into(), "\"fixed\"".into(), "\"permanent\"".into()),
        ("hours".into(), "30.0".into(), "40.0".into()),
        ("salary".into(), "2577.0".into(), "2709.0".into()),
    ];

    for company in sim.company_ids() {
        // Act
        let truth = sim.server.control.truth_of(company).await;
        let page = sim.api_json_of(company, "employees?per_page=100").await;

        // Assert
        assert_eq!(truth["company_id"], company.to_string());
        let all = employees(&truth);
        assert_eq!(all.len(), 20);
        let with_history = all.iter().filter(|e| !e["employments"].as_array().expect("array").is_empty()).count();
        assert_eq!(with_history, 15);
        assert_eq!(transitions(&truth), expected, "company {company}");
        assert_eq!(page["total"], 20);
        let listed: Vec<String> = page["data"].as_array().expect("data").iter().map(|e| e["id"].to_string()).collect();
        let truth_ids: Vec<String> = all.iter().map(|e| e["id"].to_string()).collect();
        assert_eq!(listed, truth_ids);
    }
    let listed = sim.server.control.companies().await;
    assert_eq!(listed.len(), 3);
    for (c, id) in listed.iter().zip(sim.company_ids()) {
        assert_eq!(c["id"], id.to_string());
        assert_eq!(c["employees"], 20);
        assert!(c["name"].as_str().is_some_and(|n| !n.is_empty()));
    }
}

#[tokio::test]
async fn the_first_of_many_companies_is_exactly_the_single_company_data_set() {
    // Arrange
    let single = start(SimConfig { employees: 20, with_history: 15, ..fast_config() }).await;
    let many = start(companies_config(4)).await;

    // Act
    let (alone, first) = (single.truth().await, many.truth().await);

    // Assert
    assert_eq!(many.company, single.company);
    assert_eq!(alone.to_string(), first.to_string());
}

#[tokio::test]
async fn company_and_employee_ids_are_distinct_and_the_same_for_the_same_seed() {
    // Arrange
    let a = start(companies_config(4)).await;
    let b = start(companies_config(4)).await;
    let c = start(SimConfig { seed: 7, employees: 20, with_history: 15, ..fast_config() }.with_companies(4)).await;

    // Act
    let mut truths = Vec::new();
    for company in a.company_ids() {
        truths.push((a.server.control.truth_of(company).await, b.server.control.truth_of(company).await));
    }

    // Assert
    assert_eq!(a.company_ids(), b.company_ids());
    assert_eq!(c.company_ids()[0], a.company_ids()[0], "the first company is --company-id");
    assert!(c.company_ids()[1..].iter().all(|id| !a.company_ids().contains(id)), "other seeds, other ids");
    assert_eq!(a.company_ids().iter().collect::<HashSet<_>>().len(), 4);
    let mut all_ids = HashSet::new();
    for (ta, tb) in &truths {
        assert_eq!(ta.to_string(), tb.to_string());
        for id in ids_of(ta) {
            assert!(all_ids.insert(id.clone()), "employee {id} appears twice");
        }
    }
    assert_eq!(all_ids.len(), 80);
}

#[tokio::test]
async fn a_company_sized_on_its_own_has_its_size_and_the_others_keep_the_default() {
    // Arrange
    let mut cfg = companies_config(3);
    let second = cfg.companies[1].id;
    let c = cfg.company_mut(second).expect("the second company");
    (c.employees, c.with_history) = (117, 100);

    // Act
    let sim = start(cfg).await;

    // Assert
    let counts: Vec<(u64, u64)> = sim
        .server
        .control
        .companies()
        .await
        .iter()
        .map(|c| (c["employees"].as_u64().expect("n"), c["with_history"].as_u64().expect("n")))
        .collect();
    assert_eq!(counts, vec![(20, 15), (117, 100), (20, 15)]);
    let p2 = sim.api_json_of(second, "employees?page=2&per_page=100").await;
    assert_eq!(p2["data"].as_array().expect("data").len(), 17);
    assert_eq!(transitions(&sim.server.control.truth_of(second).await).len(), 3);
}

#[tokio::test]
async fn a_thousand_companies_of_twenty_employees_are_generated_in_well_under_a_second() {
    // Arrange
    let cfg = companies_config(1000);

    // Act
    let started = Instant::now();
    let sim = employes_sync::simulator::Simulator::bind(SimConfig { addr: "127.0.0.1:0".parse().unwrap(), ..cfg })
        .await
        .expect("bind");
    let took = started.elapsed();
    let sim = testkit::sim::SimServer::serve(sim);

    // Assert (a bound generous for a debug build on a shared machine; the report has the figure)
    eprintln!("1000 companies x 20 employees generated in {took:?}");
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    let listed = sim.control.companies().await;
    assert_eq!(listed.len(), 1000);
    assert!(listed.iter().all(|c| c["employees"] == 20));
    let last = sim.companies[999].id;
    assert_eq!(employees(&sim.control.truth_of(last).await).len(), 20);
}

#[tokio::test]
async fn v4_companies_lists_the_companies_a_token_may_read() {
    // Arrange
    let mut cfg = companies_config(3);
    let ids: Vec<Uuid> = cfg.companies.iter().map(|c| c.id).collect();
    cfg.companies[1].key = Some("key-b".into());
    cfg.companies[2].key = Some("key-c".into());
    let sim = start(cfg).await;
    let ids_in = |v: &Value| -> Vec<String> {
        v["data"].as_array().expect("data").iter().map(|c| c["id"].as_str().expect("id").to_string()).collect()
    };

    // Act
    let b = sim.companies_as("key-b").await;
    let c = sim.companies_as("key-c").await;
    let other = sim.companies_as("some-other-key").await;

    // Assert
    assert_eq!(ids_in(&b), vec![ids[0].to_string(), ids[1].to_string()]);
    assert_eq!(ids_in(&c), vec![ids[0].to_string(), ids[2].to_string()]);
    assert_eq!(ids_in(&other), vec![ids[0].to_string()]);
    assert!(b["data"][1]["name"].as_str().is_some_and(|n| !n.is_empty()));
    let anonymous = sim.http.get(format!("{}/companies", sim.base)).send().await.expect("send");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(sim.stats().await["by_endpoint"]["companies"], 4);
}

#[tokio::test]
async fn a_company_with_its_own_key_answers_401_to_any_other_token() {
    // Arrange
    let mut cfg = companies_config(2);
    let (open, locked) = (cfg.companies[0].id, cfg.companies[1].id);
    cfg.companies[1].key = Some("the-right-key".into());
    let sim = start(cfg).await;

    // Act
    let right = sim.api_as("the-right-key", locked, "employees").await;
    let wrong = sim.api_as("a-wrong-key", locked, "employees").await;
    let wrong_detail = sim.api_as("a-wrong-key", locked, &format!("employees/{}", Uuid::new_v4())).await;
    let elsewhere = sim.api_as("a-wrong-key", open, "employees").await;

    // Assert
    assert_eq!(right.status(), 200);
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.expect("json")["error"], "unauthorized");
    assert_eq!(wrong_detail.status(), 401, "the key is checked before anything about the company is told");
    assert_eq!(elsewhere.status(), 200);
    let listed = sim.server.control.companies().await;
    assert_eq!(listed.iter().map(|c| c["key_required"].clone()).collect::<Vec<_>>(), vec![json!(false), json!(true)]);
}
