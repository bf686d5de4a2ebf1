//! No personal value at rest that is not shown: after a full sync and personal-field changes, and
//! after the upgrade of a first-version database that held whole records, no table holds a birth
//! date, e-mail address, phone number, street, zip code or IBAN of the simulator's employees, nor
//! an API key or secret — while personal-field changes are still detected, once each.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    companies::upgrade::{v1_client, v1_first_sync, v1_schema, v1_session},
    helpers::*,
};

/// What must not be found: each employee's birth date (as sent, and its date where no shown date
/// equals it), e-mail, phone, street, zip code and IBAN, plus the test's keys and secrets.
fn forbidden(truth: &Value, extra: &[&str]) -> Vec<String> {
    let employees = truth["employees"].as_array().unwrap();
    let shown_dates: BTreeSet<String> = employees
        .iter()
        .flat_map(|e| {
            let text = format!("{} {}", e["employment"], e["employments"]);
            text.split('"').filter(|s| s.len() == 10 && s.as_bytes()[4] == b'-').map(str::to_string).collect::<Vec<_>>()
        })
        .collect();
    let mut out: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    for e in employees {
        let dob = e["date_of_birth"].as_str().unwrap();
        out.push(dob.to_string());
        if !shown_dates.contains(&dob[..10]) {
            out.push(dob[..10].to_string());
        }
        for field in ["email", "phone_number", "street", "zipcode", "iban"] {
            if let Some(v) = e[field].as_str().filter(|v| v.len() >= 4) {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// Panics naming the first forbidden value found, and where.
async fn assert_nothing_personal(db: &sqlx::PgPool, forbidden: &[String]) {
    let values = super::every_value(db).await;
    assert!(values.iter().any(|(c, _)| c == "employee_versions.data"), "the dump reads the versions");
    for (column, text) in &values {
        for f in forbidden {
            assert!(!text.contains(f.as_str()), "{f:?} is stored in {column}");
        }
    }
}

fn secrets() -> Vec<&'static str> {
    vec![testkit::EMPLOYES_API_KEY, API_TOKEN, JWT_SECRET, WEBHOOK_SECRET, "dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"]
}

/// The personal-data changes recorded for one employee, as (field) names.
async fn personal_changes(app: &TestApp, employee: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT field FROM changes WHERE change_type = 'personal_data_change' AND employee_id = $1::uuid ORDER BY field",
    )
    .bind(employee)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn after_a_full_sync_and_personal_changes_no_table_holds_a_personal_value_or_a_secret() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["status"], "completed", "{s}");
    let employee = app.sim.employee_id(3).await;
    let before = app.sim.truth().await;
    // Act: personal fields change upstream, and a full sync sees them.
    for (field, value) in
        [("email", "new.address@example.nl"), ("street", "Nieuwe Prinsengracht"), ("zipcode", "9999 ZZ")]
    {
        app.sim.mutate(json!({"kind": "personal", "employee_id": employee, "field": field, "value": value})).await;
    }
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["status"], "completed", "{s}");
    // Assert: each change detected once, by name; nothing personal stored, old or new.
    assert_eq!(personal_changes(&app, &employee).await, ["email", "street", "zipcode"]);
    assert_eq!(count(&app, "SELECT count(*) FROM changes WHERE change_type = 'personal_data_change'").await, 3);
    let mut forbidden = forbidden(&before, &secrets());
    forbidden.extend(forbidden_after(&app.sim.truth().await));
    assert_nothing_personal(&app.db, &forbidden).await;
    // The names the service shows are kept.
    let name: String =
        sqlx::query_scalar("SELECT data->>'surname' FROM employee_versions WHERE employee_id = $1::uuid LIMIT 1")
            .bind(&employee)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(name, app.sim.truth().await["employees"][3]["surname"].as_str().unwrap());
    app.stop().await;
}

fn forbidden_after(truth: &Value) -> Vec<String> {
    forbidden(truth, &["new.address@example.nl", "Nieuwe Prinsengracht", "9999 ZZ"])
}

#[tokio::test]
async fn a_first_version_database_with_whole_records_is_rewritten_and_detection_goes_on_across_the_upgrade() {
    // Arrange: a first-version database holding every record whole (and, as versions, twice).
    let mut env = TestEnv::new().await;
    env.start_simulator();
    let config = env.config();
    let company: Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();
    let db = employes_sync::db::pool(config.database_url()).unwrap();
    v1_schema(&db).await;
    let client = v1_client(&env, company);
    let first = Uuid::new_v4();
    v1_session(&db, first, "completed", None).await;
    v1_first_sync(&db, &client, first).await;
    let truth = env.sim_control.truth().await;
    let stored_whole: i64 =
        sqlx::query_scalar("SELECT count(*) FROM employee_versions WHERE data ? 'date_of_birth' AND data->>'date_of_birth' LIKE '%T00:00:00'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(stored_whole > 100, "the first version stored birth dates ({stored_whole})");
    // Upstream, one employee moved since.
    let moved = env.sim_control.employee_id(5).await;
    env.sim_control.mutate(json!({"kind": "personal", "employee_id": moved, "field": "city", "value": "Zwolle"})).await;

    // Act: the current version starts on it, and syncs.
    let app = env.spawn_app().await;
    let migrated = count(&app, "SELECT count(*) FROM employee_versions WHERE NOT minimised").await;
    let s = app.sync_and_wait(None).await;

    // Assert: no row left unminimised, nothing personal anywhere; the move is detected once, and no
    // other employee gets a personal change or a new version.
    assert_eq!(migrated, 0);
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(personal_changes(&app, &moved).await, ["city"]);
    assert_eq!(count(&app, "SELECT count(*) FROM changes WHERE change_type = 'personal_data_change'").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM employee_versions WHERE version > 1").await, 1);
    let done = count(
        &app,
        "SELECT count(*) FROM data_migrations WHERE name = 'minimise_employee_versions' AND done_at IS NOT NULL",
    )
    .await;
    assert_eq!(done, 1);
    assert_nothing_personal(&app.db, &forbidden(&truth, &secrets())).await;
    app.stop().await;
}
