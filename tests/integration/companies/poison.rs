//! Tasks that cannot be carried out are given up: their session fails with a reason, a dead
//! letter with the reason and attempts lands on `<p>.sync.dead`, a metric counts it, and the
//! task is never redelivered again.

use employes_sync::cli::Role;
use serde_json::Value;

use super::*;

#[tokio::test]
async fn a_session_that_keeps_failing_is_given_up_at_its_attempt_cap_as_a_dead_letter() {
    // Arrange: a queued session already claimed as often as WORKER_MAX_DELIVER allows (each
    // earlier worker died with it), and no worker yet.
    let mut env = TestEnv::new().await;
    env.set("WORKER_MAX_DELIVER", "3");
    let api = env.spawn_app_with_roles(vec![Role::Http]).await;
    let (status, requested) = api.request_sync(None).await;
    assert_eq!(status, 202, "{requested}");
    let id = requested["session_id"].as_str().unwrap().to_string();
    sqlx::query("UPDATE sync_sessions SET attempts = 3 WHERE id = $1::uuid").bind(&id).execute(&api.db).await.unwrap();

    // Act: a worker gets the task.
    let worker = env.spawn_app_with_roles(vec![Role::Worker]).await;
    let s = api.wait_for_session(&id).await;

    // Assert: failed with its reason, recorded as a dead letter, counted, raised as an issue,
    // and off the queue.
    assert_eq!(
        (s["status"].as_str(), s["failure_reason"].as_str()),
        (Some("failed"), Some("gave up after 3 attempts"))
    );
    let letters = eventually("the dead letter", Duration::from_secs(10), async || {
        let letters = dead_letters(&api).await;
        if letters.is_empty() { Err("none yet") } else { Ok(letters) }
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!((letter["cause"].as_str(), letter["attempts"].as_i64()), (Some("attempts_exhausted"), Some(3)));
    assert_eq!(letter["reason"], "gave up after 3 attempts");
    assert_eq!(letter["session_id"], id.as_str());
    assert_eq!(letter["company_id"], env.settings["EMPLOYES_COMPANY_ID"].as_str());
    assert_eq!(letter["task"]["kind"], "run_session", "the task as it was queued: {letter}");
    let metrics = api.http.get(api.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("employes_sync_dead_letters_total{")), "{metrics}");
    let issues = api.get_json("/api/issues?status=ongoing").await;
    assert_eq!(issues["issues"][0]["kind"], "sync_failed", "{issues}");
    assert_eq!(issues["next_cursor"], Value::Null);
    eventually("the task is off the queue", Duration::from_secs(10), async || queued_requests(&api).await == 0).await;
    worker.stop().await;
    api.stop().await;
}

#[tokio::test]
async fn unparseable_tasks_become_dead_letters_with_their_text_and_are_not_redelivered() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app().await;
    let company: uuid::Uuid = env.settings["EMPLOYES_COMPANY_ID"].parse().unwrap();

    // Act: a message that is not JSON, and one that is not a task, then a real sync behind them.
    for payload in [&b"not json"[..], br#"{"kind":"run_everything"}"#] {
        app.bus.publish_durable(app.bus.requests_subject(company), None, payload.to_vec().into()).await.unwrap();
    }
    let session = app.sync_and_wait(None).await;

    // Assert
    assert_eq!(session["status"], "completed", "{session}");
    let letters = eventually("two dead letters", Duration::from_secs(10), async || {
        let letters = dead_letters(&app).await;
        if letters.len() == 2 { Ok(letters) } else { Err(letters.len()) }
    })
    .await;
    assert_eq!(letters[0]["task"], "not json");
    assert_eq!(letters[1]["task"]["kind"], "run_everything");
    for letter in &letters {
        assert_eq!((letter["cause"].as_str(), letter["attempts"].as_i64()), (Some("unparseable"), Some(1)), "{letter}");
        assert!(letter["reason"].as_str().unwrap().starts_with("unparseable sync task"), "{letter}");
    }
    eventually("nothing left on the queue", Duration::from_secs(10), async || queued_requests(&app).await == 0).await;
    tokio::time::sleep(Duration::from_secs(2)).await; // a redelivery would have come by now
    assert_eq!(dead_letters(&app).await.len(), 2, "given up once, not again");
    app.stop().await;
}
