//! A first-version deployment upgraded in place: its database (the first version's migrations
//! only, filled as a first-version sync leaves it), its streams (the first version's subjects)
//! and a task still queued on the old subject. The current app moves everything to the
//! company of `EMPLOYES_COMPANY_ID` without recording or publishing anything twice.

use std::collections::BTreeMap;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
    stream::{Config as StreamConfig, RetentionPolicy},
};
use employes_sync::{
    app::App,
    cli::Role,
    db::employees::content_hash,
    domain::{Change, History, detect_history_changes},
    employes::{ClientParts, EmployesClient, http_client, limiter},
};
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

/// The client the first version's sync read the simulator with (the tests' own, no rate limit).
pub(crate) fn v1_client(env: &TestEnv, company: Uuid) -> EmployesClient {
    EmployesClient::new(ClientParts {
        http: http_client(Duration::from_secs(5)).unwrap(),
        base_url: env.settings["EMPLOYES_API_URL"].clone(),
        company,
        key: "v1-key".to_string().into(),
        limiter: limiter(1000),
        max_attempts: 3,
        tally: Default::default(),
    })
}

/// Apply only the first version's two migrations (as that release did).
pub(crate) async fn v1_schema(db: &sqlx::PgPool) {
    let dir = tempfile::tempdir().unwrap();
    for file in ["20261125000001_init.sql", "20261125000002_incremental_history.sql"] {
        std::fs::copy(testkit::repo_root().join("migrations").join(file), dir.path().join(file)).unwrap();
    }
    sqlx::migrate::Migrator::new(dir.path()).await.unwrap().run(db).await.unwrap();
}

/// The streams as the first version created them.
async fn v1_streams(js: &jetstream::Context, prefix: &str) {
    let upper = prefix.to_uppercase();
    let streams = [
        (format!("{upper}_SYNC"), format!("{prefix}.sync.requests"), RetentionPolicy::WorkQueue),
        (format!("{upper}_CHANGES"), format!("{prefix}.changes.*"), RetentionPolicy::Limits),
        (format!("{upper}_PROGRESS"), format!("{prefix}.sync.progress.*"), RetentionPolicy::Limits),
    ];
    for (name, subject, retention) in streams {
        let config = StreamConfig { name, subjects: vec![subject], retention, ..Default::default() };
        js.create_stream(config).await.unwrap();
    }
}

/// A session row of the first version (no company), with its stages.
pub(crate) async fn v1_session(db: &sqlx::PgPool, id: Uuid, status: &str, idempotency_key: Option<&str>) {
    let completed = status != "queued";
    sqlx::query(
        "INSERT INTO sync_sessions (id, source, triggered_by, scope, status, idempotency_key, request_id,
                                    started_at, completed_at, employees_processed, history_collected, changes_detected)
         VALUES ($1, 'api', 'ci', 'full', $2, $3, $4,
                 CASE WHEN $5 THEN now() END, CASE WHEN $5 THEN now() END, 110, 99, 3)",
    )
    .bind(id)
    .bind(status)
    .bind(idempotency_key)
    .bind(if completed { id.to_string() } else { "v1-task".into() })
    .bind(completed)
    .execute(db)
    .await
    .unwrap();
    for (position, stage) in ["snapshot", "history", "changes"].iter().enumerate() {
        sqlx::query("INSERT INTO sync_stages (session_id, stage, position, status) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(stage)
            .bind(position as i16 + 1)
            .bind(if completed { "completed" } else { "pending" })
            .execute(db)
            .await
            .unwrap();
    }
}

/// What a first-version full sync of the simulator's company leaves behind: every employee with
/// its record and employment history, and the three historical changes.
pub(crate) async fn v1_first_sync(db: &sqlx::PgPool, client: &EmployesClient, session: Uuid) -> Vec<Change> {
    let mut changes = Vec::new();
    for e in client.list_employees().await.unwrap().employees {
        let employments = client.employments(e.id).await.unwrap();
        let history = Value::Array(employments.clone());
        sqlx::query(
            "INSERT INTO employees (id, display_name, status, snapshot_hash, snapshot_version, history_hash,
                                    history_version, has_history, dt_update, first_seen_session, history_fetched_at)
             VALUES ($1, $2, $3, $4, 1, $5, 1, $6, $7, $8, now())",
        )
        .bind(e.id)
        .bind(e.display_name())
        .bind(e.status())
        .bind(content_hash(&e.raw))
        .bind(content_hash(&history))
        .bind(!employments.is_empty())
        .bind(e.dt_update())
        .bind(session)
        .execute(db)
        .await
        .unwrap();
        for (table, data) in [("employee_versions", &e.raw), ("employment_versions", &history)] {
            sqlx::query(&format!(
                "INSERT INTO {table} (employee_id, version, content_hash, data, session_id) VALUES ($1, 1, $2, $3, $4)"
            ))
            .bind(e.id)
            .bind(content_hash(data))
            .bind(data)
            .bind(session)
            .execute(db)
            .await
            .unwrap();
        }
        changes.extend(detect_history_changes(e.id, &History::from_employments(&employments)));
    }
    for c in &changes {
        let text = |v: &Option<employes_sync::domain::ChangeValue>| v.as_ref().map(ToString::to_string);
        sqlx::query(
            "INSERT INTO changes (id, dedup_key, employee_id, change_type, field, old_value, new_value, effective_date,
                                  session_id, business_impact, change_amount, change_percent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.id())
        .bind(c.dedup_key())
        .bind(c.employee_id)
        .bind(c.change_type.as_str())
        .bind(c.field)
        .bind(text(&c.old_value))
        .bind(text(&c.new_value))
        .bind(c.effective_date)
        .bind(session)
        .bind(c.business_impact.map(|i| i.as_str()))
        .bind(c.change_amount)
        .bind(c.change_percent)
        .execute(db)
        .await
        .unwrap();
    }
    changes
}

/// Every message on `filter` with its subject.
async fn with_subjects(js: &jetstream::Context, stream: &str, filter: &str) -> Vec<(String, Value)> {
    let stream = js.get_stream(stream).await.unwrap();
    let config =
        OrderedConfig { filter_subject: filter.into(), deliver_policy: DeliverPolicy::All, ..Default::default() };
    let mut messages = stream.create_consumer(config).await.unwrap().messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
        out.push((m.subject.to_string(), serde_json::from_slice(&m.payload).unwrap()));
    }
    out
}

#[tokio::test]
async fn a_first_version_deployment_is_upgraded_in_place_without_recording_or_publishing_anything_twice() {
    // Arrange: the first version's schema, streams and data — a completed first sync whose
    // changes were published but one, a delivery, a slot, and a queued full sync whose task is
    // still on the old subject.
    let mut env = TestEnv::new().await;
    env.start_simulator();
    let config = env.config();
    let company: Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();
    let prefix = env.settings["NATS_SUBJECT_PREFIX"].clone();
    let db = employes_sync::db::pool(config.database_url()).unwrap();
    v1_schema(&db).await;
    let nats = async_nats::connect(env.nats.url()).await.unwrap();
    let js = jetstream::new(nats);
    v1_streams(&js, &prefix).await;
    let client = v1_client(&env, company);
    let (first, queued) = (Uuid::new_v4(), Uuid::new_v4());
    v1_session(&db, first, "completed", Some("ci:upgrade-key")).await;
    let history = v1_first_sync(&db, &client, first).await;
    assert_eq!(history.len(), 3, "the default data set has three historical changes");
    let unpublished = history[2].id();
    for c in &history[..2] {
        let event = json!({"specversion": "1.0", "id": c.id(), "source": format!("/employes-sync/companies/{company}"),
                           "type": format!("nl.employes.{}", c.change_type.as_str()), "subject": c.employee_id,
                           "data": {"id": c.id()}});
        let subject = format!("{prefix}.changes.{}", c.change_type.as_str());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, c.id().to_string().as_str());
        js.publish_with_headers(subject, headers, event.to_string().into()).await.unwrap().await.unwrap();
        sqlx::query("UPDATE changes SET published_at = now() WHERE id = $1").bind(c.id()).execute(&db).await.unwrap();
    }
    sqlx::query("INSERT INTO webhook_deliveries (webhook_id, event_type, outcome, session_id) VALUES ('wh_1', 'company.sync_requested', 'accepted', $1)")
        .bind(first)
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO schedule_slots (slot, session_id) VALUES (now(), $1)")
        .bind(first)
        .execute(&db)
        .await
        .unwrap();
    v1_session(&db, queued, "queued", None).await;
    let task = json!({"request_id": "v1-task", "session_id": queued, "source": "api", "triggered_by": "ci",
                      "employee_ids": null, "requested_at": "2026-11-30T10:00:00Z"});
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, "v1-task");
    js.publish_with_headers(format!("{prefix}.sync.requests"), headers, task.to_string().into())
        .await
        .unwrap()
        .await
        .unwrap();
    // Upstream, one employee got a raise since.
    let raised = env.sim_control.employee_id(4).await;
    env.sim_control
        .mutate(json!({"kind": "salary", "employee_id": raised, "month_wage": 4321, "start_date": "2026-12-01"}))
        .await;

    // Act: the current version starts on it (migrating, updating the streams) and drains the queue.
    let app = env.spawn_app().await;
    let s = app.wait_for_session(&queued.to_string()).await;

    // Assert: the queued session ran as the company's, and found only the raise.
    assert_eq!(
        (s["status"].as_str(), s["company_id"].as_str()),
        (Some("completed"), Some(company.to_string().as_str())),
        "{s}"
    );
    assert_eq!(s["changes_detected"], 1, "{s}");
    for table in [
        "sync_sessions",
        "sync_stages",
        "employees",
        "employee_versions",
        "employment_versions",
        "changes",
        "webhook_deliveries",
        "schedule_slots",
    ] {
        let other =
            count(&app, &format!("SELECT count(*) FROM {table} WHERE company_id IS DISTINCT FROM '{company}'")).await;
        assert_eq!(other, 0, "{table} rows not moved to the company");
    }
    let (name, from_env): (String, bool) = sqlx::query_as("SELECT name, from_env FROM companies WHERE id = $1")
        .bind(company)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(from_env, "{name}");
    // No change recorded twice: the three of the first version, and the raise.
    let recorded: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, change_type FROM changes ORDER BY detected_at").fetch_all(&app.db).await.unwrap();
    assert_eq!(recorded.len(), 4, "{recorded:?}");
    assert_eq!(
        recorded[..3].iter().map(|r| r.0).collect::<Vec<_>>(),
        history.iter().map(Change::id).collect::<Vec<_>>()
    );
    assert_eq!(recorded[3].1, "salary_change");
    // The upgrade gives the first version's changes the v2 attributes: baseline, and each
    // employee's sequence from 1; the raise continues its employee's count and is no baseline.
    let numbered: Vec<(Uuid, Uuid, i64, bool)> =
        sqlx::query_as("SELECT id, employee_id, sequence, baseline FROM changes ORDER BY detected_at")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert!(numbered[..3].iter().all(|r| r.3) && !numbered[3].3, "{numbered:?}");
    let mut per_employee: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for (_, employee, sequence, _) in &numbered {
        per_employee.entry(*employee).or_default().push(*sequence);
    }
    for (employee, sequences) in &per_employee {
        assert_eq!(sequences, &(1..=sequences.len() as i64).collect::<Vec<_>>(), "{employee}");
    }
    // No event published twice: each change id once on the stream; the unpublished one and the
    // raise once each, on the company's subjects.
    let events = eventually("the outbox publishes what the first version left", Duration::from_secs(30), async || {
        let events = with_subjects(&app.bus.js, &app.bus.changes_stream(), &format!("{prefix}.changes.>")).await;
        if events.len() >= 4 { Ok(events) } else { Err(events.len()) }
    })
    .await;
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (subject, event) in &events {
        by_id.entry(event["id"].as_str().unwrap().to_string()).or_default().push(subject.clone());
    }
    assert_eq!(by_id.len(), 4, "{by_id:?}");
    assert!(by_id.values().all(|subjects| subjects.len() == 1), "published twice: {by_id:?}");
    for id in [unpublished, recorded[3].0] {
        let subjects = &by_id[&id.to_string()];
        assert!(subjects[0].starts_with(&format!("{prefix}.changes.{company}.")), "{subjects:?}");
    }
    let raise = events.iter().find(|(_, e)| e["id"] == recorded[3].0.to_string()).unwrap();
    assert_eq!(raise.1["source"], format!("/employes-sync/companies/{company}"));
    assert_eq!(raise.1["data"]["company_id"], company.to_string());
    assert_eq!((&raise.1["sequence"], &raise.1["baseline"]), (&json!(format!("{:020}", numbered[3].2)), &json!(false)));
    let left = events.iter().find(|(_, e)| e["id"] == unpublished.to_string()).unwrap();
    let left_sequence = numbered.iter().find(|r| r.0 == unpublished).unwrap().2;
    assert_eq!((&left.1["sequence"], &left.1["baseline"]), (&json!(format!("{left_sequence:020}")), &json!(true)));
    // The first version's idempotency key still answers with its session.
    let repeat = app
        .http
        .post(app.url("/api/sync"))
        .bearer_auth(API_TOKEN)
        .header("idempotency-key", "upgrade-key")
        .send()
        .await
        .unwrap();
    let (status, body) = reply(repeat).await;
    assert_eq!((status, body["session_id"].as_str()), (202, Some(first.to_string().as_str())), "{body}");
    assert_eq!(queued_requests(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_first_version_database_with_data_is_not_upgraded_until_employes_company_id_names_its_company() {
    // Arrange: a first-version database with one session, and a configuration naming no company.
    let mut env = TestEnv::new().await;
    env.start_simulator();
    let db = employes_sync::db::pool(env.config().database_url()).unwrap();
    v1_schema(&db).await;
    v1_session(&db, Uuid::new_v4(), "completed", None).await;
    let company = env.settings.remove("EMPLOYES_COMPANY_ID").unwrap();

    // Act
    let refused = App::build(env.config(), vec![Role::Worker]).await.err().expect("the start is refused");

    // Assert: one line naming the key; nothing migrated; with the key set it upgrades.
    let message = format!("{refused:#}");
    assert!(message.contains("EMPLOYES_COMPANY_ID") && !message.contains('\n'), "{message}");
    let migrated: bool =
        sqlx::query_scalar("SELECT to_regclass('companies') IS NOT NULL").fetch_one(&db).await.unwrap();
    assert!(!migrated, "the migration rolled back");
    env.set("EMPLOYES_COMPANY_ID", &company);
    let app = env.spawn_app_with_roles(vec![Role::Worker]).await;
    assert_eq!(count(&app, &format!("SELECT count(*) FROM sync_sessions WHERE company_id = '{company}'")).await, 1);
    app.stop().await;
}
