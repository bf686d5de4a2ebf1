//! Bounded live streams: `SSE_MAX_PER_TOKEN` and `SSE_MAX` (429 beyond), one JetStream consumer
//! per followed session however many follow it, every follower ending with the session, and a
//! client that stops reading dropped instead of buffered for.

use std::time::Duration;

use futures::future::join_all;
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use super::{OTHER_TOKEN, limited_app, metric, publish_progress, queued_session};
use crate::helpers::*;

/// Open the session's event stream as `token`: the response (its body not read yet).
async fn open(app: &TestApp, token: &str, session: &str) -> reqwest::Response {
    app.http.get(app.url(&format!("/api/sync/sessions/{session}/events"))).bearer_auth(token).send().await.unwrap()
}

/// The `data:` payloads of an event stream, until it ends (at most 30 s).
async fn events(mut resp: reqwest::Response) -> Vec<Value> {
    let (mut out, mut buf) = (Vec::new(), String::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, resp.chunk()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            out.extend(frame.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| serde_json::from_str(d).unwrap()));
        }
    }
    out
}

/// Consumers on the progress stream (each follower used to make its own).
async fn progress_consumers(app: &TestApp) -> usize {
    let mut stream = app.bus.js.get_stream(app.bus.progress_stream()).await.unwrap();
    stream.info().await.unwrap().state.consumer_count
}

#[tokio::test]
async fn streams_beyond_sse_max_per_token_or_sse_max_get_429_with_retry_after_and_a_closed_one_frees_its_slot() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = limited_app(&mut env, &[("SSE_MAX_PER_TOKEN", "2"), ("SSE_MAX", "3")]).await;
    let session = queued_session(&app).await;
    // Act
    let first = open(&app, API_TOKEN, &session).await;
    let second = open(&app, API_TOKEN, &session).await;
    let third = open(&app, API_TOKEN, &session).await;
    let others = open(&app, OTHER_TOKEN, &session).await;
    let beyond_replica = open(&app, OTHER_TOKEN, &session).await;
    // Assert
    let opened = [&first, &second, &others].map(|r| r.status().as_u16());
    assert_eq!(opened, [200; 3]);
    for (refused, what) in [(third, "SSE_MAX_PER_TOKEN"), (beyond_replica, "SSE_MAX")] {
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.headers()["retry-after"], "5");
        let (_, body) = reply(refused).await;
        assert_eq!(body["error"], "too_many_streams", "{body}");
        assert!(body["message"].as_str().unwrap().contains(what), "{body}");
    }
    assert_eq!(metric(&app, "employes_sync_streams_open").await, 3.0);
    assert!(metric(&app, r#"employes_sync_rate_limited_total{family="streams"}"#).await >= 2.0);
    // A stream whose client left gives its slot back.
    drop(first);
    eventually("a closed stream's slot is free again", Duration::from_secs(10), async || {
        let resp = open(&app, API_TOKEN, &session).await;
        if resp.status().is_success() { Ok(resp) } else { Err(resp.status()) }
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn two_hundred_followers_of_one_session_share_one_consumer_and_all_end_with_the_session() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = limited_app(&mut env, &[("SSE_MAX_PER_TOKEN", "500")]).await;
    let session = queued_session(&app).await;
    publish_progress(&app, &session, "snapshot", "running", 0).await;
    // Act: 200 clients follow it at once, then it makes progress and ends.
    let followers = join_all((0..200).map(|_| open(&app, API_TOKEN, &session))).await;
    assert!(followers.iter().all(|f| f.status().is_success()));
    let consumers_while_followed = progress_consumers(&app).await;
    let subscriptions = metric(&app, "employes_sync_fanout_subscriptions").await;
    let open_streams = metric(&app, "employes_sync_streams_open").await;
    publish_progress(&app, &session, "snapshot", "completed", 10).await;
    publish_progress(&app, &session, "session", "completed", 10).await;
    let seen = join_all(followers.into_iter().map(events)).await;
    // Assert
    assert_eq!(consumers_while_followed, 1, "200 followers, one consumer");
    assert_eq!((subscriptions, open_streams), (1.0, 200.0));
    let steps = |events: &Vec<Value>| -> Vec<String> {
        events.iter().map(|e| format!("{} {}", e["stage"].as_str().unwrap(), e["status"].as_str().unwrap())).collect()
    };
    for follower in &seen {
        assert_eq!(steps(follower), ["snapshot running", "snapshot completed", "session completed"]);
    }
    // A follower of the ended session gets its events and its stream ends; nothing stays open.
    assert_eq!(steps(&events(open(&app, OTHER_TOKEN, &session).await).await).len(), 3);
    eventually("the ended session is followed no more", Duration::from_secs(10), async || {
        let (subscriptions, open) = (
            metric(&app, "employes_sync_fanout_subscriptions").await,
            metric(&app, "employes_sync_streams_open").await,
        );
        if (subscriptions, open) == (0.0, 0.0) { Ok(()) } else { Err(format!("{subscriptions} {open}")) }
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_its_stream_is_dropped_and_its_slot_given_back() {
    // Arrange: writes may stall for 1 s; one stream per token.
    let mut env = TestEnv::new().await;
    let app = limited_app(&mut env, &[("HTTP_REQUEST_TIMEOUT", "1s"), ("SSE_MAX_PER_TOKEN", "1")]).await;
    let session = queued_session(&app).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr.unwrap()).await.unwrap();
    let request = format!(
        "GET /api/sync/sessions/{session}/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {API_TOKEN}\r\n\r\n"
    );
    stalled.write_all(request.as_bytes()).await.unwrap();
    eventually("the stalled client's stream is open", Duration::from_secs(10), async || {
        let open = metric(&app, "employes_sync_streams_open").await;
        if open == 1.0 { Ok(()) } else { Err(open) }
    })
    .await;
    // Act: the session makes steady progress (2,000 events a second, which a reading client
    // keeps up with) until far more than the socket's buffers hold is written; the client reads none.
    let subject = app.bus.progress_subject(session.parse().unwrap());
    let (client, session_id) = (app.bus.client.clone(), session.clone());
    let progress = tokio::spawn(async move {
        for n in 0..60_000 {
            let event = serde_json::json!({"session_id": session_id, "stage": "snapshot", "status": "running",
                                           "processed": n, "total": 60_000, "at": chrono::Utc::now()});
            client.publish(subject.clone(), serde_json::to_vec(&event).unwrap().into()).await.unwrap();
            if n % 40 == 39 {
                client.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    // Assert: the connection is dropped within moments of its writes stalling, and its slot is free.
    eventually("the stalled client is dropped", Duration::from_secs(30), async || {
        let dropped = metric(&app, "employes_sync_http_stalled_connections_total").await;
        if dropped >= 1.0 { Ok(()) } else { Err(dropped) }
    })
    .await;
    eventually("its slot is given back", Duration::from_secs(10), async || {
        let open = metric(&app, "employes_sync_streams_open").await;
        if open == 0.0 { Ok(()) } else { Err(open) }
    })
    .await;
    let next = open(&app, API_TOKEN, &session).await;
    assert_eq!(next.status().as_u16(), 200, "the token may follow again");
    progress.abort();
    drop(stalled);
    app.stop().await;
}
