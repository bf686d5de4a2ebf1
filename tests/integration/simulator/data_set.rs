//! The generated data set: deterministic per seed, the documented record shape, paging.

use super::*;

#[tokio::test]
async fn the_same_seed_gives_identical_data_and_another_seed_differs() {
    // Arrange
    let a = start(fast_config()).await;
    let b = start(fast_config()).await;
    let c = start(SimConfig { seed: 7, ..fast_config() }).await;

    // Act
    let (ta, tb, tc) = (a.truth().await, b.truth().await, c.truth().await);

    // Assert
    assert_eq!(ta.to_string(), tb.to_string());
    assert_ne!(ta.to_string(), tc.to_string());
}

#[tokio::test]
async fn the_default_data_set_has_110_employees_99_with_history_and_exactly_three_transitions() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let truth = sim.truth().await;

    // Assert
    let all = employees(&truth);
    assert_eq!(all.len(), 110);
    let with_history = all.iter().filter(|e| !e["employments"].as_array().expect("array").is_empty()).count();
    assert_eq!(with_history, 99);
    assert!(all.iter().all(|e| e["status"] == "active"));
    assert_eq!(truth["company_id"], sim.company.to_string());
    let expected = vec![
        ("contracts".into(), "\"fixed\"".into(), "\"permanent\"".into()),
        ("hours".into(), "30.0".into(), "40.0".into()),
        ("salary".into(), "2577.0".into(), "2709.0".into()),
    ];
    assert_eq!(transitions(&truth), expected);
    let salary_change = all
        .iter()
        .flat_map(|e| e["employments"][0]["salary"].as_array().cloned().unwrap_or_default())
        .find(|p| p["month_wage"] == 2709.0)
        .expect("raised salary period");
    assert_eq!(salary_change["start_date"], "2025-01-01");
    assert_eq!(salary_change["is_active"], true);
}

#[tokio::test]
async fn an_employee_record_carries_the_documented_fields_and_an_unknown_extra() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let list = sim.api_json("employees?per_page=2").await;

    // Assert
    let e = &list["data"][0];
    let documented = "id first_name surname surname_prefix initials gender date_of_birth email phone_number \
                      street housenumber zipcode city country_code iban status employee_number employee_type_id \
                      administration_id yearly_wage dt_create dt_update employment custom_fields";
    for field in documented.split_whitespace() {
        assert!(e.get(field).is_some(), "missing {field}");
    }
    assert!(e["date_of_birth"].as_str().expect("dob").ends_with("T00:00:00"));
    assert!(e["iban"].as_str().expect("iban").starts_with("NL"));
    assert!(e["employment"]["salary"]["month_wage"].is_number());
    assert_eq!(list["total"], 110);
    assert_eq!(list["pages"], 55);
}

#[tokio::test]
async fn a_company_of_117_is_served_as_pages_of_100_and_17() {
    // Arrange
    let sim = start(SimConfig { employees: 117, ..fast_config() }).await;

    // Act
    let p1 = sim.api_json("employees?page=1&per_page=100").await;
    let p2 = sim.api_json("employees?page=2&per_page=100").await;
    let p3 = sim.api_json("employees?page=3&per_page=100").await;

    // Assert
    assert_eq!(p1["data"].as_array().expect("data").len(), 100);
    assert_eq!(p2["data"].as_array().expect("data").len(), 17);
    assert_eq!(p3["data"].as_array().expect("data").len(), 0);
    assert_eq!(p1["total"], 117);
    assert_eq!(p1["pages"], 2);
    assert_eq!(p2["page"], 2);
    assert_eq!(p2["per_page"], 100);
}
