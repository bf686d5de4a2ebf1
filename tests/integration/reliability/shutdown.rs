//! Graceful shutdown: SIGTERM mid-sync.

use super::*;

#[tokio::test]
async fn sigterm_mid_sync_finishes_in_flight_requests_exits_0_and_leaves_the_session_for_the_next_start() {
    // Arrange: the whole service as a child process, with a slow history stage.
    let mut env = TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 30, ..SimConfig::default() }).await;
    quick_takeover(&mut env);
    env.set("WORKER_FETCH_CONCURRENCY", "1").set("SHUTDOWN_TIMEOUT", "10s");
    env.start_simulator();
    let mut first = spawn_binary(&env, "http,worker,scheduler", &[]);
    let app = env.attach(first.http_addr().await).await;
    let expected = expected_history_change_ids(&app).await;
    let (_, requested) = app.request_sync(None).await;
    let full = requested["session_id"].as_str().unwrap().to_string();
    wait_for_stage(&app, &full, 1, 10).await;
    // An in-flight request: its body arrives in two parts, the second one after SIGTERM.
    let employee = app.sim.employee_id(3).await;
    let body = json!({"employee_ids": [employee]}).to_string();
    let addr = app.addr.unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A first request on the connection proves the server has taken it on.
    conn.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let healthz = read_response(&mut conn).await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let head = format!(
        "POST /api/sync HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {API_TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    );
    conn.write_all(head.as_bytes()).await.unwrap();

    // Act: SIGTERM while the sync runs and the request is half received.
    let terminated = Instant::now();
    first.signal(nix::sys::signal::Signal::SIGTERM);
    first.wait_for_line("shutting down", Duration::from_secs(5)).await;
    conn.write_all(&body.as_bytes()[10..]).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(15), read_response(&mut conn))
        .await
        .expect("the in-flight request was answered");
    let exit = first.wait_exit(Duration::from_secs(15)).await;

    // Assert: the in-flight request was served; the process exited 0 in bounded time.
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let targeted: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let exit = exit.expect("the process did not exit within 15 s of SIGTERM");
    assert!(exit.success(), "exit status {exit:?}\n{}", first.output());
    assert!(terminated.elapsed() < Duration::from_secs(15));
    // The unfinished session was released, not acked nor failed; its request waits on the queue.
    let (status, heartbeat): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT status, heartbeat_at FROM sync_sessions WHERE id = $1::uuid")
            .bind(&full)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), heartbeat), ("running", None));
    assert!(queued_requests(&app).await >= 2);
    // The next start completes both sessions.
    let mut second = spawn_binary(&env, "http,worker", &[]);
    let app = env.attach(second.http_addr().await).await;
    let s = app.wait_for_session(&full).await;
    assert_first_sync_counts(&s);
    assert_eq!(attempts(&app, &full).await, 2);
    let t = app.wait_for_session(targeted["session_id"].as_str().unwrap()).await;
    assert_eq!(t["status"], "completed", "{t}");
    assert_changes_exactly_once(&app, &expected).await;
}
