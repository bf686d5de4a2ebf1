//! A worker process killed (SIGKILL) at each pause point: another one takes over and the
//! result equals an uninterrupted run's. Also what a session paused at its end has not yet
//! announced.

use std::collections::BTreeMap;

use super::*;

/// Run a full sync with worker A armed at `point`, SIGKILL A there, let worker B take over,
/// and check the result equals an uninterrupted run's.
async fn a_worker_killed_at(point: &str) {
    // Arrange: an HTTP app in this process; worker A is a child process that stops at `point`.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 5, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    env.set("WORKER_FETCH_CONCURRENCY", "2");
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let expected = expected_history_change_ids(&api).await;
    assert_eq!(expected.len(), 3, "the default data set has 3 changes");
    let mut a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", point)]);
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    a.wait_for_line(&format!("failpoint reached: {point}"), Duration::from_secs(30)).await;

    // Act: kill A at that exact moment; B (not armed) must pick the request up.
    a.kill();
    let mut b = spawn_binary(&env, "worker", &[]);
    let s = api.wait_for_session(&id).await;

    // Assert
    assert_first_sync_counts(&s);
    assert_eq!(attempts(&api, &id).await, 2, "B resumed A's session");
    assert_changes_exactly_once(&api, &expected).await;
    b.wait_for_line("sync session ended", Duration::from_secs(5)).await;
    api.stop().await;
}

#[tokio::test]
async fn a_worker_killed_after_storing_the_first_snapshot_batch_is_replaced_and_changes_are_recorded_and_published_once()
 {
    a_worker_killed_at("snapshot_stored").await;
}

#[tokio::test]
async fn a_worker_killed_mid_history_is_replaced_and_changes_are_recorded_and_published_once() {
    a_worker_killed_at("history_progress").await;
}

#[tokio::test]
async fn a_worker_killed_between_the_changes_commit_and_their_publication_is_replaced_and_each_change_is_published_once()
 {
    a_worker_killed_at("changes_committed").await;
}

#[tokio::test]
async fn a_worker_killed_right_after_publishing_the_changes_is_replaced_and_nothing_is_published_twice() {
    a_worker_killed_at("changes_published").await;
}

#[tokio::test]
async fn a_worker_killed_just_before_finishing_the_session_is_replaced_and_the_session_completes() {
    a_worker_killed_at("session_finishing").await;
}

#[tokio::test]
async fn a_sessions_last_event_goes_out_only_after_its_companys_issues_are_recorded() {
    // Arrange: worker A stops once the session's final status is stored, before its issues are
    // recorded (the dashboard reads the status and the open issues when the last event comes).
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }).await;
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let mut a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", "session_ended")]);

    // Act
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    a.wait_for_line("failpoint reached: session_ended", Duration::from_secs(30)).await;

    // Assert: the status is stored, the last event is not out.
    let s = api.get_json(&format!("/api/sync/sessions/{id}")).await;
    assert_eq!(s["status"], "completed", "{s}");
    let events = progress_events(&api, &id).await;
    assert!(!events.is_empty() && events.iter().all(|e| e["stage"] != "session"), "{events:?}");
    a.kill();
    api.stop().await;
}

#[tokio::test]
async fn a_session_whose_worker_dies_once_too_often_is_failed_and_dead_lettered_when_it_is_claimed_past_worker_max_deliver()
 {
    // Arrange: one claim allowed (WORKER_MAX_DELIVER=1); worker A claims the session and stops mid-history.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 5, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    env.set("WORKER_MAX_DELIVER", "1");
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let mut a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", "history_progress")]);
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    a.wait_for_line("failpoint reached: history_progress", Duration::from_secs(30)).await;

    // Act: A is killed; B's claim is the second one.
    a.kill();
    let _b = spawn_binary(&env, "worker", &[]);
    let s = api.wait_for_session(&id).await;

    // Assert: B fails the session instead of running it, and announces it.
    assert_eq!(
        (s["status"].as_str(), s["failure_reason"].as_str()),
        (Some("failed"), Some("gave up after 1 attempts"))
    );
    assert_eq!(attempts(&api, &id).await, 2);
    let letters = dead_letters(&api).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (letters[0]["reason"].as_str(), letters[0]["attempts"].as_i64()),
        (Some("gave up after 1 attempts"), Some(1))
    );
    assert_eq!(letters[0]["session_id"], id.as_str());
    let events = progress_events(&api, &id).await;
    let last = events.last().unwrap();
    assert_eq!((last["stage"].as_str(), last["status"].as_str()), (Some("session"), Some("failed")), "{last}");
    api.stop().await;
}

#[tokio::test]
async fn sequences_stay_contiguous_per_employee_when_a_worker_dies_after_recording_changes_and_the_sync_is_redelivered()
{
    // Arrange: a first full sync (the baseline) by worker W; then one employee gets a raise, new
    // hours and a new contract, another a raise, and worker A records them and dies before
    // publishing.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 5, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let mut w = spawn_binary(&env, "worker", &[]);
    let first = api.sync_and_wait(None).await;
    assert_first_sync_counts(&first);
    w.kill();
    let (one, other) = (api.sim.employee_id(5).await, api.sim.employee_id(6).await);
    for mutation in [
        json!({"kind": "salary", "employee_id": one, "month_wage": 4100, "start_date": "2026-12-01"}),
        json!({"kind": "hours", "employee_id": one, "hours_per_week": 17, "start_date": "2027-01-01"}),
        json!({"kind": "contract", "employee_id": one, "contract_duration": "permanent", "start_date": "2027-02-01"}),
        json!({"kind": "salary", "employee_id": other, "month_wage": 3900, "start_date": "2026-12-01"}),
    ] {
        api.sim.mutate(mutation).await;
    }
    let mut a = spawn_binary(&env, "worker", &[("EMPLOYES_SYNC_PAUSE_AT", "changes_committed")]);
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    a.wait_for_line("failpoint reached: changes_committed", Duration::from_secs(30)).await;

    // Act: A dies; B gets the redelivered session, runs the changes stage again and publishes.
    a.kill();
    let mut b = spawn_binary(&env, "worker", &[]);
    let s = api.wait_for_session(&id).await;
    b.wait_for_line("sync session ended", Duration::from_secs(5)).await;

    // Assert: per employee, the recorded sequences are 1..n with no gap or repeat, the new ones
    // follow the baseline's, and each event carries its row's number once, in order.
    assert_eq!(attempts(&api, &id).await, 2, "B resumed A's session");
    let rows: Vec<(String, String, i64, bool)> = sqlx::query_as(
        "SELECT id::text, employee_id::text, sequence, baseline FROM changes ORDER BY employee_id, sequence",
    )
    .fetch_all(&api.db)
    .await
    .unwrap();
    let mut by_employee: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, employee, sequence, _) in &rows {
        by_employee.entry(employee.clone()).or_default().push(*sequence);
    }
    for (employee, numbers) in &by_employee {
        assert_eq!(numbers, &(1..=numbers.len() as i64).collect::<Vec<_>>(), "sequences of {employee}");
    }
    let new: Vec<_> = rows.iter().filter(|r| !r.3).collect();
    assert_eq!(new.len() as i64, s["changes_detected"].as_i64().unwrap(), "{s}");
    assert!(new.iter().filter(|r| r.1 == one).count() >= 2, "several new changes of one employee: {new:?}");
    assert_eq!(rows.iter().filter(|r| r.3).count(), 3, "the baseline's changes are flagged");
    let expected: BTreeMap<String, (String, i64)> =
        rows.iter().map(|(id, e, seq, _)| (id.clone(), (e.clone(), *seq))).collect();
    let events = eventually("every change is published", Duration::from_secs(15), async || {
        let events = change_events(&api).await;
        if events.len() >= rows.len() { Ok(events) } else { Err(format!("{} events", events.len())) }
    })
    .await;
    assert_eq!(events.len(), rows.len(), "each change published once");
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for e in &events {
        let (employee, sequence) = &expected[e["id"].as_str().unwrap()];
        assert_eq!(e["partitionkey"].as_str(), Some(employee.as_str()));
        assert_eq!(e["sequence"], json!(format!("{sequence:020}")), "{e}");
        let previous = last.insert(employee.clone(), *sequence).unwrap_or(0);
        assert_eq!(*sequence, previous + 1, "{employee}'s events are on the stream in sequence order");
    }
    api.stop().await;
}
