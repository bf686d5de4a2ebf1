//! `GET /api/employees`: every stored employee once, page by page by name; `q` and `status`
//! select as the simulator's data says; a company outside the caller's scope is unknown; bad
//! input is a 400 naming the parameter.

use std::collections::BTreeSet;

use employes_sync::simulator::SimConfig;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

const VIEWER: &str = "viewer-token-0123456789";

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// What is in effect on `today` of a history's periods (`key` of the latest started by then).
fn in_effect<'a>(periods: &'a Value, today: &str) -> Option<&'a Value> {
    let mut started: Vec<&Value> =
        periods.as_array()?.iter().filter(|p| p["start_date"].as_str().is_some_and(|s| s <= today)).collect();
    started.sort_by_key(|p| p["start_date"].as_str().unwrap().to_string());
    started.last().copied()
}

#[tokio::test]
async fn every_employee_is_listed_once_by_name_page_by_page_and_q_and_status_select_as_the_simulator_says() {
    // Arrange: the simulator's 110 employees, one of them out of service.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    let leaver = app.sim.employee_id(3).await;
    app.sim.mutate(json!({"kind": "status", "employee_id": leaver, "status": "out of service"})).await;
    app.sync_and_wait(None).await;
    let truth = app.sim.truth().await["employees"].as_array().unwrap().clone();
    assert_eq!(truth.len(), 110);
    let by_id = |id: &str| truth.iter().find(|t| t["id"] == id).unwrap_or_else(|| panic!("{id} in the truth"));

    // Act: 7 at a time, and all in one page.
    let walked = walk(&app, "/api/employees", 7).await;
    let one_page = app.get_json("/api/employees?limit=500").await;

    // Assert: each once, in one stable order by name.
    let walked_ids = ids(&walked);
    assert_eq!(walked_ids.len(), 110, "{walked_ids:?}");
    assert_eq!(walked_ids.iter().collect::<BTreeSet<_>>().len(), 110, "no employee twice");
    assert_eq!(walked_ids.iter().collect::<BTreeSet<_>>(), ids(&truth).iter().collect::<BTreeSet<_>>());
    assert_eq!(ids(one_page["employees"].as_array().unwrap()), walked_ids, "the same order in one page");
    assert!(one_page["next_cursor"].is_null());
    let initials: Vec<char> =
        walked.iter().map(|e| e["name"].as_str().unwrap().chars().next().unwrap().to_ascii_lowercase()).collect();
    assert!(initials.windows(2).all(|w| w[0] <= w[1]), "by name: {initials:?}");
    let today = chrono::Utc::now().date_naive().to_string();
    for e in &walked {
        let t = by_id(e["id"].as_str().unwrap());
        assert_eq!(e["name"].as_str(), Some(display_name(t).as_str()), "{e}");
        assert_eq!(e["company_id"], env.companies[0].to_string());
        assert_eq!(e["status"], t["status"], "{e}");
        assert_eq!(e["employee_number"].as_str(), Some(t["employee_number"].to_string().trim_matches('"')), "{e}");
        assert!(e["updated_at"].as_str().is_some() && e["removed_at"].is_null(), "{e}");
        let employments = t["employments"].as_array().unwrap();
        assert_eq!(e["has_history"].as_bool(), Some(!employments.is_empty()), "{e}");
        let current = &e["current"];
        if let Some(history) = employments.first() {
            let salary = in_effect(&history["salary"], &today).unwrap();
            let hours = in_effect(&history["hours"], &today).unwrap();
            assert_eq!(current["month_wage"], salary["month_wage"], "{e}");
            assert_eq!(current["hours_per_week"], hours["hours_per_week"], "{e}");
            assert!(current["contract_duration"].is_string(), "{e}");
        } else {
            let embedded = &t["employment"];
            assert_eq!(current["month_wage"], embedded["salary"]["month_wage"], "{e}");
            assert_eq!(current["hours_per_week"], embedded["contract"]["hours_per_week"], "{e}");
        }
    }

    // Search: a part of a surname, in other case, finds exactly the names holding it.
    let surname = truth[0]["surname"].as_str().unwrap();
    let part: String = surname.chars().skip(1).take(3).collect::<String>().to_uppercase();
    let expected: BTreeSet<String> = truth
        .iter()
        .filter(|t| display_name(t).to_lowercase().contains(&part.to_lowercase()))
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let found = walk(&app, &format!("/api/employees?q={part}"), 7).await;
    assert!(expected.contains(truth[0]["id"].as_str().unwrap()));
    assert_eq!(ids(&found).into_iter().collect::<BTreeSet<_>>(), expected, "q={part}");
    for literal in ["%25", "_", "%5C"] {
        let none = app.get_json(&format!("/api/employees?q={literal}")).await;
        assert_eq!(none["employees"], json!([]), "q={literal} is no wildcard: {none}");
    }

    // Status, case-insensitively; the company filter.
    let out = app.get_json("/api/employees?status=Out%20of%20Service").await;
    assert_eq!(ids(out["employees"].as_array().unwrap()), vec![leaver]);
    let active = walk(&app, "/api/employees?status=active", 50).await;
    assert_eq!(active.len(), 109);
    assert!(active.iter().all(|e| e["status"] == "active"));
    let company = walk(&app, &format!("/api/employees?company_id={}", env.companies[0]), 500).await;
    assert_eq!(ids(&company), walked_ids);
    app.stop().await;
}

#[tokio::test]
async fn a_scoped_viewer_sees_only_its_company_and_bad_input_is_refused_naming_the_parameter() {
    // Arrange: two companies of 12, a viewer of the first.
    let mut sim = SimConfig { rate_limit: 1000, latency_ms: 0, seed: 11, ..SimConfig::default() }.with_companies(2);
    for c in &mut sim.companies {
        (c.employees, c.with_history) = (12, 8);
    }
    let mut env = TestEnv::with_sim(sim).await;
    let (first, second) = (env.companies[0], env.companies[1]);
    env.sim_webhooks = false;
    env.set("API_TOKENS", &format!("ci:{API_TOKEN},viewer:{VIEWER}:viewer:{first}"));
    let app = env.spawn_app().await;
    for c in [first, second] {
        app.sync_and_wait(Some(json!({ "company_id": c }))).await;
    }
    let other = app.sim.employee_id_of(second, 0).await;

    // Act
    let (status, mine) = get_as(&app, VIEWER, "/api/employees").await;
    let all = app.get_json("/api/employees?limit=500").await;
    let theirs = app.get_json(&format!("/api/employees?company_id={second}")).await;

    // Assert: the viewer's list holds only its company; the unscoped token sees both.
    assert_eq!(status, 200, "{mine}");
    let companies = |page: &Value| -> BTreeSet<String> {
        page["employees"].as_array().unwrap().iter().map(|e| e["company_id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(companies(&mine), BTreeSet::from([first.to_string()]));
    assert_eq!(mine["employees"].as_array().unwrap().len(), 12);
    assert_eq!(all["employees"].as_array().unwrap().len(), 24);
    assert_eq!(companies(&theirs), BTreeSet::from([second.to_string()]));
    // The other company, and its employees, are unknown to the viewer.
    for (path, unknown) in [
        (format!("/api/employees?company_id={second}"), format!("/api/employees?company_id={}", Uuid::new_v4())),
        (format!("/api/employees/{other}"), format!("/api/employees/{}", Uuid::new_v4())),
    ] {
        let (status, body) = get_as(&app, VIEWER, &path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}: {body}");
        let (_, body_unknown) = get_as(&app, VIEWER, &unknown).await;
        assert_eq!(body["message"], body_unknown["message"], "{path}: the same answer as for an unknown id");
    }
    let (status, seen) = get_as(&app, API_TOKEN, &format!("/api/employees/{other}")).await;
    assert_eq!((status, seen["company_id"].as_str()), (200, Some(&*second.to_string())), "{seen}");

    // Bad input: 400, and the message names the parameter.
    let long = "x".repeat(101);
    for (query, named) in [
        ("q=".to_string(), "q must be"),
        (format!("q={long}"), "q must be"),
        ("status=".to_string(), "status must be"),
        ("limit=0".to_string(), "limit must be"),
        ("limit=501".to_string(), "limit must be"),
        ("limit=many".to_string(), "limit"),
        ("cursor=abc".to_string(), "cursor must be"),
        ("company_id=acme".to_string(), "company_id"),
        ("sort=name".to_string(), "unknown field `sort`"),
    ] {
        let (status, body) = get_as(&app, VIEWER, &format!("/api/employees?{query}")).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")), "{query}: {body}");
        assert!(body["message"].as_str().unwrap().contains(named), "{query}: {body}");
    }
    let (status, body) = get_as(&app, VIEWER, "/api/employees/not-a-uuid").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = get_as(&app, VIEWER, "/api/employees?q=%00").await;
    assert_eq!((status, &body["employees"]), (200, &json!([])), "a NUL matches no name: {body}");
    // A cursor of the documented pattern that no list gave out (a NUL, bytes that are not UTF-8).
    let (status, body) = get_as(&app, VIEWER, &format!("/api/employees?cursor=6100ff~{}", Uuid::nil())).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}
