//! `POST /api/employees/{id}/erase`: refused while employed, then everything about the employee
//! gone but the tombstone (and the audit entry naming whom), the event published, and later syncs
//! not storing them again until Employes lists them as active.

use serde_json::{Value, json};

use crate::helpers::*;

async fn erase(app: &TestApp, id: &str) -> (u16, Value) {
    let req = app
        .http
        .post(app.url(&format!("/api/employees/{id}/erase")))
        .bearer_auth(API_TOKEN)
        .header("x-request-id", "erase-1");
    reply(req.send().await.unwrap()).await
}

/// Every table.column whose text holds `needle`.
async fn columns_holding(db: &sqlx::PgPool, needle: &str) -> Vec<String> {
    super::every_value(db)
        .await
        .into_iter()
        .filter(|(_, text)| text.contains(needle))
        .map(|(column, _)| column)
        .collect()
}

#[tokio::test]
async fn an_employee_out_of_service_is_erased_everywhere_but_the_tombstone_and_stays_erased_until_active_again() {
    // Arrange: a synced company; one employee leaves, with changes, a targeted session, an error
    // and a webhook delivery naming them.
    let mut env = TestEnv::new().await;
    env.sim_webhooks = false;
    let app = env.spawn_app().await;
    let company = env.companies[0].to_string();
    app.sync_and_wait(None).await;
    let (active, leaver) = (app.sim.employee_id(0).await, app.sim.employee_id(1).await);
    app.sim.mutate(json!({"kind": "terminate", "employee_id": leaver})).await;
    app.sync_and_wait(Some(json!({"employee_ids": [leaver]}))).await;
    let session: String = sqlx::query_scalar("SELECT id::text FROM sync_sessions WHERE scope = 'employees' LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sync_errors (session_id, stage, employee_id, code, message, company_id) VALUES ($1::uuid, 'history', $2::uuid, 'http_500', 'x', $3::uuid)")
        .bind(&session).bind(&leaver).bind(&company).execute(&app.db).await.unwrap();
    sqlx::query("INSERT INTO webhook_deliveries (webhook_id, event_type, employee_id, outcome, company_id) VALUES ('wh_x', 'employee.updated', $1::uuid, 'accepted', $2::uuid)")
        .bind(&leaver).bind(&company).execute(&app.db).await.unwrap();
    assert!(count(&app, &format!("SELECT count(*) FROM changes WHERE employee_id = '{leaver}'")).await > 0);

    // Act / Assert: the active one is refused, an unknown one is not found.
    let (status, body) = erase(&app, &active).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("still_employed")), "{body}");
    let (status, _) = erase(&app, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);
    assert_eq!(count(&app, "SELECT count(*) FROM erased_employees").await, 0, "a refusal erases nothing");

    // Act: the leaver is erased.
    let (status, body) = erase(&app, &leaver).await;

    // Assert: the answer, then the id nowhere but the tombstone and the audit entry of the erasure.
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["employee_id"].as_str(), body["company_id"].as_str()),
        (Some(leaver.as_str()), Some(company.as_str()))
    );
    // (The event sequence counter survives erasure by design: numbers are never reused.)
    let left = ["audit_entries.target", "erased_employees.employee_id", "event_sequences.employee_id"];
    assert_eq!(columns_holding(&app.db, &leaver).await, left);
    let entry = &app.get_json("/api/audit?limit=1").await["entries"][0];
    assert_eq!(
        (
            entry["action"].as_str(),
            entry["actor"].as_str(),
            entry["role"].as_str(),
            entry["target"].as_str(),
            entry["request_id"].as_str()
        ),
        (Some("employee_erased"), Some("ci"), Some("admin"), Some(leaver.as_str()), Some("erase-1"))
    );
    let erased = eventually("the employee_erased event is published", std::time::Duration::from_secs(10), async || {
        let events = change_events(&app).await;
        events.into_iter().find(|e| e["type"] == "nl.employes.employee_erased").ok_or("not yet")
    })
    .await;
    assert_eq!(
        (erased["subject"].as_str(), erased["source"].as_str()),
        (Some(leaver.as_str()), Some(format!("/employes-sync/companies/{company}").as_str()))
    );
    assert_eq!(
        erased["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["company_id", "employee_id", "erased_at"]
    );
    // Again (a retried request): the same answer, nothing happens twice.
    let (again, repeated) = erase(&app, &leaver).await;
    assert_eq!((again, &repeated), (200, &body), "erased already: the same answer");
    let entries = count(&app, &format!("SELECT count(*) FROM audit_entries WHERE target = '{leaver}'")).await;
    assert_eq!(entries, 1, "one audit entry");
    assert_eq!(columns_holding(&app.db, &leaver).await, left);

    // Act / Assert: Employes still lists them (out of service): a full sync does not store them.
    let s = app.sync_and_wait(None).await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(columns_holding(&app.db, &leaver).await, left);

    // Act / Assert: listed as active again, they are stored anew and the tombstone goes.
    app.sim.mutate(json!({"kind": "status", "employee_id": leaver, "status": "active"})).await;
    app.sync_and_wait(None).await;
    assert_eq!(count(&app, &format!("SELECT count(*) FROM employees WHERE id = '{leaver}'")).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM erased_employees").await, 0);
    app.stop().await;
}
