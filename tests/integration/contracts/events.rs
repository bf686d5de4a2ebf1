//! The NATS side against `docs/asyncapi.yaml`: every message a full scenario publishes, on every
//! subject under the prefix, is a message of the document (subject, headers, payload, no field it
//! does not name), the streams are as the document says, and the checks bite.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use employes_sync::{asyncapi, db::changes::ChangeRow, domain::ChangeType, sync::outbox::cloud_event};
use futures::StreamExt as _;
use serde_json::{Value, json};
use testkit::contracts::AsyncApi;
use uuid::Uuid;

use crate::helpers::*;

/// One message as a subscriber of `<prefix>.>` sees it.
#[derive(Debug, Clone)]
struct Seen {
    subject: String,
    headers: BTreeMap<String, String>,
    payload: Vec<u8>,
}

/// Every CloudEvents attribute the contract names is emitted: none is announced as coming.
fn coming() -> Vec<&'static str> {
    Vec::new()
}

/// Everything published under `prefix`, from now on (a core subscription sees JetStream's
/// messages too, including the work queue's, which are gone once a worker acks them).
async fn capture(app: &TestApp) -> Arc<Mutex<Vec<Seen>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut subscription = app.bus.client.subscribe(format!("{}.>", app.bus.prefix())).await.unwrap();
    app.bus.client.flush().await.unwrap();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            let headers = message
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .map(|(name, values)| {
                    let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
                    (name.to_string(), values.join(","))
                })
                .collect();
            let seen = Seen { subject: message.subject.to_string(), headers, payload: message.payload.to_vec() };
            sink.lock().unwrap().push(seen);
        }
    });
    seen
}

#[tokio::test]
async fn every_message_a_full_scenario_publishes_is_described_by_the_asyncapi_document() {
    // Arrange: a first full sync (baseline changes), then an employee hired, a raise, a new
    // e-mail address and a fixed-term contract upstream, each followed by the simulator's signed webhook (targeted syncs); a
    // company renamed (announced to the replicas), and a task for a session that does not exist
    // (given up as a dead letter); an employee no longer listed erased; an endpoint registered
    // (announced to the dispatchers) and its events replayed (copied onto its replay subject).
    let mut env = TestEnv::new().await;
    env.set("SECRETS_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    let app = env.spawn_app().await;
    let seen = capture(&app).await;
    let document = AsyncApi::new(&asyncapi::document(), app.bus.prefix(), &coming());
    app.sync_and_wait(None).await;
    let employee = app.sim.employee_id(3).await;
    app.sim.mutate(json!({"kind": "hire", "first_name": "Ada", "surname": "Jansen"})).await;
    app.sim
        .mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": 4321, "start_date": "2026-12-01"}))
        .await;
    app.sim.mutate(json!({"kind": "personal", "employee_id": employee, "field": "email", "value": "a@b.nl"})).await;
    // A fixed contract of a year: its end and its notice are milestones (`detected` events).
    let fixed = json!([{"contract_duration": "fixed", "start_date": "2026-01-01", "end_date": "2026-12-31"}]);
    app.sim.mutate(json!({"kind": "contracts", "employee_id": app.sim.employee_id(4).await, "contracts": fixed})).await;
    let company: Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();
    let rename = employes_sync::companies::CompanyPatch { name: Some("Renamed B.V.".into()), ..Default::default() };
    let by = employes_sync::companies::ChangedBy::service();
    app.companies.clone().unwrap().update(company, &rename, &by).await.unwrap();
    let lost = employes_sync::sync::QueueTask::RunSession(employes_sync::sync::RunSession {
        company_id: Some(company),
        request_id: "lost-task".into(),
        session_id: Uuid::new_v4(),
        source: employes_sync::domain::Source::Api,
        triggered_by: "contracts".into(),
        employee_ids: None,
        requested_at: chrono::Utc::now(),
    });
    employes_sync::sync::trigger::publish(&app.bus, company, &lost, "lost-task").await.unwrap();
    // Act: wait until every session has ended and sent its last event, and every change is out.
    // The three baseline changes, then `employee_added`, `salary_change`, `personal_data_change`.
    let sessions = eventually("the three changes upstream are recorded", Duration::from_secs(60), async || {
        let open = count(&app, "SELECT count(*) FROM sync_sessions WHERE status IN ('queued', 'running')").await;
        let changes = count(&app, "SELECT count(*) FROM changes").await;
        let ended = count(&app, "SELECT count(*) FROM sync_sessions").await;
        if open == 0 && changes >= 6 {
            Ok(ended as usize)
        } else {
            Err(format!("{changes} changes, {open} sessions open"))
        }
    })
    .await;
    // An employee no longer listed (and without changes) is erased: `employee_erased`.
    let gone: Uuid = sqlx::query_scalar(
        "UPDATE employees SET removed_at = now() WHERE id = (SELECT id FROM employees
         WHERE id NOT IN (SELECT employee_id FROM changes) AND id NOT IN (SELECT employee_id FROM milestones)
         ORDER BY id LIMIT 1) RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let erased =
        app.http.post(app.url(&format!("/api/employees/{gone}/erase"))).bearer_auth(API_TOKEN).send().await.unwrap();
    assert_eq!(erased.status().as_u16(), 200);
    // The endpoint's events are on their streams before the replay reads them.
    eventually("a milestone and the erasure are published", Duration::from_secs(30), async || {
        let all = seen.lock().unwrap();
        let on = |part: &str| all.iter().any(|m| m.subject.contains(part));
        if on(".milestones.") && on(".employee_erased") { Ok(()) } else { Err("not yet".to_string()) }
    })
    .await;
    let types = ["salary_change", "employee_erased", "milestone.contract_ending"];
    let endpoint = json!({"url": "https://93.184.215.14/hook", "types": types});
    let registered =
        app.http.post(app.url("/api/endpoints")).bearer_auth(API_TOKEN).json(&endpoint).send().await.unwrap();
    let (status, registered) = reply(registered).await;
    assert_eq!(status, 201, "{registered}");
    let replay = format!("/api/endpoints/{}/replay", registered["id"].as_str().unwrap());
    let since = json!({"since": "2020-01-01T00:00:00Z"});
    let (status, queued) =
        reply(app.http.post(app.url(&replay)).bearer_auth(API_TOKEN).json(&since).send().await.unwrap()).await;
    assert_eq!(status, 202, "{queued}");
    let changes = count(&app, "SELECT count(*) FROM changes").await as usize;
    let captured = eventually("the last events are seen", Duration::from_secs(30), async || {
        let all = seen.lock().unwrap().clone();
        let finals = all.iter().filter(|m| m.subject.contains(".sync.progress.") && is_last(&m.payload)).count();
        let events = all.iter().filter(|m| m.subject.contains(".changes.")).count();
        let dead = all.iter().any(|m| m.subject.ends_with(".sync.dead"));
        let milestones = all.iter().any(|m| m.subject.contains(".milestones."));
        let replayed = types.iter().all(|t| {
            let t = format!("\"nl.employes.{t}\"");
            all.iter().any(|m| {
                m.subject.contains(".endpoints.replay.") && m.payload.windows(t.len()).any(|w| w == t.as_bytes())
            })
        });
        let announced = all.iter().any(|m| m.subject.ends_with(".control.endpoints"));
        if finals >= sessions && events >= changes && dead && milestones && replayed && announced {
            Ok(all)
        } else {
            Err(format!("{finals} last events, {events} changes"))
        }
    })
    .await;
    // Assert: each one is a message of the document, and together they cover every live channel.
    let mut problems = Vec::new();
    let mut described = BTreeSet::new();
    for m in &captured {
        match document.describe(&m.subject, &m.headers, &m.payload) {
            Ok(d) => {
                described.insert((d.channel, d.message));
            }
            Err(problem) => problems.push(problem),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} messages are not as documented:\n{}",
        problems.len(),
        captured.len(),
        problems.join("\n")
    );
    let expected: BTreeSet<(String, String)> = asyncapi::CHANNELS
        .iter()
        .filter(|c| !c.coming)
        .flat_map(|c| c.messages.iter().map(|m| (c.id.to_string(), m.to_string())))
        .collect();
    assert_eq!(described, expected, "the scenario must publish every message of every live channel (extend it)");
    let types: BTreeSet<String> =
        captured.iter().filter_map(|m| m.subject.rsplit_once(".changes.").map(|(_, t)| t.to_string())).collect();
    assert!(types.len() >= 4, "changes of too few types to judge the schema: {types:?}");
    // A core subscription sees the replay's copies too: the events themselves are read off `.changes.`.
    let events: Vec<&Seen> = captured.iter().filter(|m| m.subject.contains(".changes.")).collect();
    assert_cloud_events_by_the_sdk(&events, company);
    app.stop().await;
}

/// Each event read by the CloudEvents SDK (which refuses a malformed envelope), with the v2
/// extension attributes: `companyid`, `partitionkey` = `subject`, `dataclassification`, a boolean
/// `baseline` (true exactly for the first sync's), and per employee the sequences 1, 2, … in
/// publication order.
fn assert_cloud_events_by_the_sdk(events: &[&Seen], company: Uuid) {
    use cloudevents::{AttributesReader as _, event::ExtensionValue};
    let text = |e: &cloudevents::Event, name: &str| match e.extension(name) {
        Some(ExtensionValue::String(s)) => s.clone(),
        other => panic!("{name} of {} is {other:?}", e.id()),
    };
    let mut sequences: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut baselines = Vec::new();
    let mut seen = BTreeSet::new();
    for m in events {
        let e: cloudevents::Event = serde_json::from_slice(&m.payload)
            .unwrap_or_else(|err| panic!("the CloudEvents SDK refuses the event on {}: {err}", m.subject));
        // A core subscription also sees a republish JetStream drops as a duplicate.
        if !seen.insert(e.id().to_string()) {
            continue;
        }
        assert_eq!(e.specversion(), cloudevents::event::SpecVersion::V10);
        assert_eq!(e.source(), &format!("/employes-sync/companies/{company}"));
        assert_eq!(text(&e, "companyid"), company.to_string());
        assert_eq!(Some(text(&e, "partitionkey").as_str()), e.subject());
        assert_eq!(text(&e, "dataclassification"), "confidential");
        let sequence = text(&e, "sequence");
        assert!(sequence.len() == 20 && sequence.bytes().all(|b| b.is_ascii_digit()), "{sequence}");
        sequences.entry(text(&e, "partitionkey")).or_default().push(sequence.parse().unwrap());
        match e.extension("baseline") {
            Some(ExtensionValue::Boolean(b)) => baselines.push((e.ty().to_string(), *b)),
            other => panic!("baseline of {} is {other:?}", e.id()),
        }
    }
    for (employee, numbers) in &sequences {
        let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
        assert_eq!(numbers, &expected, "sequences of employee {employee}, in publication order");
    }
    assert_eq!(baselines.iter().filter(|(_, b)| *b).count(), 3, "the first sync's three changes: {baselines:?}");
    assert!(baselines.iter().any(|(t, b)| t == "nl.employes.employee_added" && !b), "{baselines:?}");
}

fn is_last(payload: &[u8]) -> bool {
    serde_json::from_slice::<Value>(payload).is_ok_and(|event| event["stage"] == "session")
}

#[tokio::test]
async fn every_stream_is_as_the_asyncapi_document_says() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let prefix = app.bus.prefix().to_string();
    let stream_prefix = prefix.to_uppercase().replace('-', "_");
    let name = |template: &str| template.replace("{PREFIX}", &stream_prefix).replace("{prefix}", &prefix);
    for channel in asyncapi::CHANNELS {
        let Some(documented) = channel.stream else { continue };
        // Act
        let mut stream = app.bus.js.get_stream(name(documented.name)).await.unwrap();
        let config = stream.info().await.unwrap().config.clone();
        // Assert
        let subjects: Vec<String> = documented.subjects.iter().map(|s| name(s)).collect();
        assert_eq!(config.subjects, subjects, "{}: subjects", channel.id);
        let retention = format!("{:?}", config.retention).to_lowercase();
        assert_eq!(retention, asyncapi::retention_name(documented.retention), "{}: retention", channel.id);
        assert_eq!(config.max_age.as_secs(), documented.max_age.as_secs(), "{}: max age", channel.id);
        assert_eq!(
            config.duplicate_window.as_secs(),
            documented.duplicate_window.as_secs(),
            "{}: duplicate window",
            channel.id
        );
    }
    app.stop().await;
}

/// A change event as the outbox publishes it, and its subject.
fn published_change() -> (String, BTreeMap<String, String>, Value) {
    let company = Uuid::from_u128(4);
    let change = ChangeRow {
        id: Uuid::from_u128(1),
        company_id: company,
        employee_id: Uuid::from_u128(2),
        employee_name: Some("Ada Jansen".into()),
        change_type: ChangeType::SalaryChange,
        field: Some("month_wage".into()),
        old_value: Some("3000".into()),
        new_value: Some("3100".into()),
        effective_date: Some("2026-12-01".parse().unwrap()),
        detected_at: "2026-11-30T10:00:00.123456789Z".parse().unwrap(),
        session_id: Uuid::from_u128(3),
        business_impact: Some(employes_sync::domain::BusinessImpact::SalaryIncrease),
        change_amount: Some(100.0),
        change_percent: Some(3.33),
        baseline: false,
        sequence: 7,
    };
    let event = serde_json::to_value(cloud_event(&change)).unwrap();
    let headers = BTreeMap::from([("Nats-Msg-Id".to_string(), change.id.to_string())]);
    (format!("p.changes.{company}.salary_change"), headers, event)
}

#[test]
fn an_event_field_or_subject_the_document_does_not_describe_fails_the_check() {
    // Arrange
    let document = AsyncApi::new(&asyncapi::document(), "p", &coming());
    let (subject, headers, event) = published_change();
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
    let mut with_field = event.clone();
    with_field["data"]["bonus"] = json!(500);
    let mut with_attribute = event.clone();
    with_attribute["traceparent"] = json!("00-abc");
    let mut without_sequence = event.clone();
    without_sequence.as_object_mut().unwrap().remove("sequence");
    let mut short_sequence = event.clone();
    short_sequence["sequence"] = json!("7");
    let mut wrong_type = event.clone();
    wrong_type["data"]["change_type"] = json!("bonus_paid");
    // A document that calls `employee_name` optional, and an event whose name is unknown (null).
    let mut optional_name = asyncapi::document();
    optional_name["components"]["schemas"]["ChangeRow"]["required"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f != "employee_name");
    let mut no_name = event.clone();
    no_name["data"]["employee_name"] = json!(null);
    // Act
    let ok = document.describe(&subject, &headers, &bytes(&event));
    let field = document.describe(&subject, &headers, &bytes(&with_field)).unwrap_err();
    let attribute = document.describe(&subject, &headers, &bytes(&with_attribute)).unwrap_err();
    let unsequenced = document.describe(&subject, &headers, &bytes(&without_sequence)).unwrap_err();
    let unpadded = document.describe(&subject, &headers, &bytes(&short_sequence)).unwrap_err();
    let value = document.describe(&subject, &headers, &bytes(&wrong_type)).unwrap_err();
    let null = AsyncApi::new(&optional_name, "p", &coming()).describe(&subject, &headers, &bytes(&no_name));
    let header = document.describe(&subject, &BTreeMap::new(), &bytes(&event)).unwrap_err();
    let extra_header = BTreeMap::from([("Nats-Msg-Id".into(), "1".into()), ("X-Trace".into(), "t".into())]);
    let undeclared_header = document.describe(&subject, &extra_header, &bytes(&event)).unwrap_err();
    let nowhere = document.describe(&format!("p.changes.{}.bonus_paid", Uuid::from_u128(4)), &headers, &bytes(&event));
    let nowhere = nowhere.unwrap_err();
    let milestone = document.describe(&format!("p.milestones.{}.notice_due", Uuid::from_u128(4)), &headers, b"{}");
    // Assert
    assert_eq!(ok.map(|d| (d.channel, d.message)), Ok(("changes".into(), "change".into())));
    assert!(field.contains("/data") && field.contains("bonus"), "{field}");
    assert!(attribute.contains("traceparent"), "{attribute}");
    assert!(unsequenced.contains("sequence"), "{unsequenced}");
    assert!(unpadded.contains("/sequence"), "{unpadded}");
    assert!(value.contains("bonus_paid"), "{value}");
    assert!(null.as_ref().unwrap_err().contains("/data/employee_name: sent as null"), "{null:?}");
    assert!(header.contains("Nats-Msg-Id"), "{header}");
    assert!(undeclared_header.contains("X-Trace"), "{undeclared_header}");
    assert!(nowhere.contains("on no channel"), "{nowhere}");
    let milestone = milestone.unwrap_err();
    assert!(milestone.contains("specversion"), "an empty milestone event lacks every attribute: {milestone}");
}
