//! Delivery state lives in JetStream: two replicas share an endpoint's deliveries, and one killed
//! while a delivery is in flight loses nothing — another replica delivers it again (same
//! `webhook-id`) after the ack wait.

use std::time::Duration;

use employes_sync::cli::Role;
use serde_json::json;

use super::*;

#[tokio::test]
async fn a_replica_killed_mid_delivery_loses_nothing_and_the_event_arrives_again_with_the_same_webhook_id() {
    // Arrange: an HTTP app here; replica A (a worker process) gets the first delivery, which the
    // receiver holds open.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    env.set("ENDPOINT_CONCURRENCY", "1");
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let receiver = TestReceiver::start(vec![Reply::Hang(Duration::from_secs(60))]).await;
    let (endpoint, _) = register(&api, &receiver.url(), None, Some(&changes())).await;
    let mut a = spawn_binary(&env, "worker", &[]);
    api.sync_and_wait(None).await;
    let held = receiver.wait_for(1, Duration::from_secs(30)).await[0].id.clone();

    // Act: kill A mid-delivery; replica B takes over.
    a.kill();
    let mut b = spawn_binary(&env, "worker", &[]);

    // Assert: every change reaches the receiver, the held one again under its id.
    let expected = change_ids(&api, env.companies[0], None).await;
    let delivered = eventually("every change is delivered by B", Duration::from_secs(60), async || {
        let ids = delivered(&api, endpoint).await;
        if ids == expected { Ok(ids) } else { Err(format!("{ids:?} of {expected:?}")) }
    })
    .await;
    assert!(delivered.contains(&held));
    let again = receiver.seen().iter().filter(|s| s.id == held).count();
    assert_eq!(again, 2, "the held event is sent again, with the same webhook-id");
    b.kill();
    api.stop().await;
}

#[tokio::test]
async fn two_replicas_share_an_endpoints_deliveries_and_each_event_is_delivered() {
    // Arrange: two worker replicas and an endpoint of every event.
    let mut env = TestEnv::new().await;
    endpoint_env(&mut env);
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let receiver = TestReceiver::start(vec![]).await;
    let (endpoint, _) = register(&api, &receiver.url(), None, Some(&changes())).await;
    let mut one = spawn_binary(&env, "worker", &[]);
    let mut two = spawn_binary(&env, "worker", &[]);
    // Act: a first sync, then changes upstream and a second.
    api.sync_and_wait(None).await;
    for n in 1..=6 {
        let employee = api.sim.employee_id(n).await;
        api.sim
            .mutate(
                json!({"kind": "salary", "employee_id": employee, "month_wage": 3000 + n, "start_date": "2026-12-01"}),
            )
            .await;
    }
    api.sync_and_wait(None).await;
    // Assert
    let expected = change_ids(&api, env.companies[0], None).await;
    assert_eq!(expected.len(), 9);
    eventually("every change is delivered", Duration::from_secs(60), async || {
        let ids = delivered(&api, endpoint).await;
        if ids == expected { Ok(()) } else { Err(format!("{} of {}", ids.len(), expected.len())) }
    })
    .await;
    one.kill();
    two.kill();
    api.stop().await;
}
