//! Scale-out on a 3-node NATS JetStream cluster (streams at R3) with two `employes-sync serve`
//! processes: coalescing across replicas, exactly-once changes, surviving a NATS node and a
//! replica being killed mid-sync, and one scheduled session per slot.

use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

use employes_sync::simulator::SimConfig;
use serde_json::{Value, json};

use crate::helpers::*;

fn worker_id(p: &ServiceProcess) -> String {
    let line = p.output().lines().find(|l| l.contains("worker started")).unwrap().to_string();
    let v: Value = serde_json::from_str(&line).unwrap();
    v["worker_id"].as_str().unwrap().to_string()
}

async fn session_workers(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as("SELECT id::text, worker_id, status FROM sync_sessions ORDER BY requested_at")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn raise(app: &TestApp, employee: &str, wage: f64, start: &str) {
    app.sim.mutate(json!({"kind": "salary", "employee_id": employee, "month_wage": wage, "start_date": start})).await;
}

/// Deliver a signed webhook to one replica as Employes does (503s retried); its final status.
async fn deliver(app: &TestApp, id: &str, employee: &str) -> u16 {
    let body =
        json!({"type": "employment.updated", "timestamp": "2026-11-25T10:00:00Z", "data": {"employee_id": employee}});
    let webhook = Webhook::with_id(id.to_string(), serde_json::to_vec(&body).unwrap());
    webhook.deliver(app, Duration::from_secs(30)).await.status
}

#[tokio::test]
async fn two_replicas_on_a_three_node_cluster_coalesce_survive_failures_and_publish_each_change_once() {
    // Arrange: cluster, simulator (some latency so syncs overlap the faults), two replicas.
    let cluster = NatsCluster::start();
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 15, ..SimConfig::default() }).await;
    env.set("NATS_URL", &cluster.urls()).set("NATS_STREAM_REPLICAS", "3").set("WEBHOOK_COALESCE_WINDOW", "100ms");
    env.set("WORKER_ACK_WAIT", "3s").set("WORKER_FETCH_CONCURRENCY", "2");
    env.start_simulator();
    let mut a = spawn_binary(&env, "http,worker", &[]);
    let mut b = spawn_binary(&env, "http,worker", &[]);
    let (api_a, api_b) = (env.attach(a.http_addr().await).await, env.attach(b.http_addr().await).await);
    let stream = api_a.bus.js.get_stream(api_a.bus.changes_stream()).await.unwrap().cached_info().config.num_replicas;
    assert_eq!(stream, 3, "streams are replicated on the cluster");

    // Act 1: five full requests at once, spread over both replicas → one session.
    let requests = (0..5).map(|i| if i % 2 == 0 { api_a.request_sync(None) } else { api_b.request_sync(None) });
    let answers = futures::future::join_all(requests).await;
    let ids: BTreeSet<String> = answers
        .iter()
        .map(|(s, b)| {
            assert_eq!(*s, 202, "{b}");
            b["session_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "coalescing holds across replicas");
    let first = api_a.wait_for_session(ids.first().unwrap()).await;
    assert_eq!((first["status"].as_str(), first["changes_detected"].as_i64()), (Some("completed"), Some(3)));

    // Act 2: ten raises upstream, fifty webhooks (five per employee) over both replicas.
    let truth = api_a.sim.truth().await;
    let employees: Vec<String> = (10..20).map(|i| truth["employees"][i]["id"].as_str().unwrap().to_string()).collect();
    for (i, e) in employees.iter().enumerate() {
        raise(&api_a, e, 5000.0 + i as f64, "2027-01-01").await;
    }
    let deliveries = (0..50).map(|i| {
        let app = if i % 2 == 0 { &api_a } else { &api_b };
        let id = format!("msg_cluster_{i}");
        let employee = employees[i % 10].clone();
        async move { deliver(app, &id, &employee).await }
    });
    assert!(futures::future::join_all(deliveries).await.iter().all(|s| *s == 202));
    for i in 0..50 {
        api_a.webhook_session(&format!("msg_cluster_{i}")).await;
    }
    let all_done = |v: &Value| v["sessions"].as_array().unwrap().iter().all(|s| s["status"] == "completed");
    poll_json(&api_a, "/api/sync/sessions?limit=100", Duration::from_secs(60), all_done).await;
    let raises = api_a.get_json("/api/changes?type=salary_change&since=2000-01-01T00:00:00Z&limit=500").await;
    let raised: Vec<&Value> =
        raises["changes"].as_array().unwrap().iter().filter(|c| c["effective_date"] == "2027-01-01").collect();
    assert_eq!(raised.len(), 10, "each raise recorded exactly once");

    // Act 3: kill a NATS node while a full sync runs; intake continues meanwhile.
    for (i, e) in employees.iter().enumerate() {
        raise(&api_a, e, 6000.0 + i as f64, "2027-02-01").await;
    }
    let (_, full) = api_b.request_sync(None).await;
    let full_id = full["session_id"].as_str().unwrap().to_string();
    poll_json(&api_a, &format!("/api/sync/sessions/{full_id}"), Duration::from_secs(30), |s| {
        s["stages"][1]["status"] == "running"
    })
    .await;
    cluster.kill_node(1);
    let bystander = truth["employees"][30]["id"].as_str().unwrap().to_string();
    assert_eq!(deliver(&api_a, "msg_during_node_loss", &bystander).await, 202);
    let s = api_a.wait_for_session(&full_id).await;
    assert_eq!((s["status"].as_str(), s["changes_detected"].as_i64()), (Some("completed"), Some(10)), "{s}");

    // Act 4: kill the replica that runs a full sync; the other finishes it.
    for (i, e) in employees.iter().enumerate() {
        raise(&api_a, e, 7000.0 + i as f64, "2027-03-01").await;
    }
    let (_, full) = api_a.request_sync(None).await;
    let full_id = full["session_id"].as_str().unwrap().to_string();
    let running = poll_json(&api_b, &format!("/api/sync/sessions/{full_id}"), Duration::from_secs(30), |s| {
        s["stages"][1]["status"] == "running"
    })
    .await;
    assert_eq!(running["status"], "running");
    let holder: Option<String> = sqlx::query_scalar("SELECT worker_id FROM sync_sessions WHERE id = $1::uuid")
        .bind(&full_id)
        .fetch_one(&api_a.db)
        .await
        .unwrap();
    let (survivor, api) = if holder.as_deref() == Some(worker_id(&a).as_str()) {
        a.kill();
        (&b, &api_b)
    } else {
        b.kill();
        (&a, &api_a)
    };
    let s = api.wait_for_session(&full_id).await;
    assert_eq!((s["status"].as_str(), s["changes_detected"].as_i64()), (Some("completed"), Some(10)), "{s}");
    let finisher: Option<String> = sqlx::query_scalar("SELECT worker_id FROM sync_sessions WHERE id = $1::uuid")
        .bind(&full_id)
        .fetch_one(&api.db)
        .await
        .unwrap();
    assert_eq!(finisher.as_deref(), Some(worker_id(survivor).as_str()));

    // Assert: work was spread over both replicas — the sessions' last workers, plus the replica
    // that ran the full sync until it was killed (its row now names the survivor); every change
    // published exactly once.
    let mut workers: BTreeSet<String> = session_workers(api).await.into_iter().filter_map(|(_, w, _)| w).collect();
    workers.extend(holder);
    assert!(workers.len() >= 2, "{workers:?}");
    let events = change_events(api).await;
    let event_ids: Vec<String> = events.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    let unique: BTreeSet<String> = event_ids.iter().cloned().collect();
    assert_eq!(unique.len(), event_ids.len(), "no change delivered twice");
    let recorded: BTreeSet<String> =
        sqlx::query_scalar("SELECT id::text FROM changes").fetch_all(&api.db).await.unwrap().into_iter().collect();
    assert_eq!(unique, recorded);
    assert_eq!(recorded.len(), 3 + 10 + 10 + 10);
}

#[tokio::test]
async fn the_scheduler_on_two_replicas_makes_one_session_per_slot_on_the_cluster() {
    let cluster = NatsCluster::start();
    let mut env = TestEnv::new().await;
    env.set("NATS_URL", &cluster.urls()).set("NATS_STREAM_REPLICAS", "3").set("SYNC_SCHEDULE", "*/2 * * * * *");
    env.start_simulator();
    let mut a = spawn_binary(&env, "http,worker,scheduler", &[]);
    let mut b = spawn_binary(&env, "worker,scheduler", &[]);
    let api = env.attach(a.http_addr().await).await;
    let _ = b.wait_for_line("scheduler started", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    a.signal(nix::sys::signal::Signal::SIGTERM);
    b.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(a.wait_exit(Duration::from_secs(20)).await.is_some_and(|s| s.success()));
    assert!(b.wait_exit(Duration::from_secs(20)).await.is_some_and(|s| s.success()));
    let slots: Vec<(chrono::DateTime<chrono::Utc>, Option<uuid::Uuid>)> =
        sqlx::query_as("SELECT slot, session_id FROM schedule_slots ORDER BY slot").fetch_all(&api.db).await.unwrap();
    assert!(slots.len() >= 2, "{slots:?}");
    let sessions: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT source, count(*) FROM sync_sessions GROUP BY source")
            .fetch_all(&api.db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let distinct: BTreeSet<_> = slots.iter().filter_map(|(_, s)| *s).collect();
    assert_eq!(sessions.get("scheduler").copied().unwrap_or(0) as usize, distinct.len());
    assert!(distinct.len() <= slots.len());
    assert_eq!(sessions.len(), 1, "only the scheduler made sessions: {sessions:?}");
}
