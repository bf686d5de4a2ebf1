//! Input limits: sizes, id lists and query limits at their edges.

use super::*;

/// A raw request whose body is sent `Transfer-Encoding: chunked` (no declared length), so only
/// the server's streaming limit can stop it. Returns the status and the JSON answer.
async fn chunked_post(app: &TestApp, path: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let addr = app.addr.unwrap();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    for chunk in body.chunks(8 * 1024) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    // The server may answer before reading everything; a failed write is not the point here.
    let _ = conn.write_all(&wire).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), read_response(&mut conn)).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let json = answer.split("\r\n\r\n").nth(1).and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, json)
}

#[tokio::test]
async fn request_sizes_id_lists_and_query_limits_are_bounded_at_their_edges_with_json_errors() {
    // Arrange
    let mut env = TestEnv::new().await;
    let app = env.spawn_app_with_roles(vec![Role::Http]).await;
    let employee = "0b7d7c8e-1111-4222-8333-944455556666";
    let is_app_error = |body: &Value| body["error"].is_string() && body["message"].is_string();

    // Bodies of unknown length are cut at the same limits as declared ones.
    let mut webhook = Webhook::event("employee.updated", employee);
    webhook.body.extend(std::iter::repeat_n(b' ', 257 * 1024));
    let (status, body) = chunked_post(
        &app,
        "/webhooks/employes",
        &[
            ("webhook-id", webhook.id.clone()),
            ("webhook-timestamp", webhook.ts.clone()),
            ("webhook-signature", webhook.signature.clone()),
            ("content-type", "application/json".into()),
        ],
        &webhook.body,
    )
    .await;
    assert_eq!(status, 413, "chunked webhook: {body}");
    assert!(is_app_error(&body), "{body}");
    let ids: Vec<String> = (0..2000).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let big = json!({ "employee_ids": ids }).to_string();
    let (status, body) = chunked_post(
        &app,
        "/api/sync",
        &[("authorization", format!("Bearer {API_TOKEN}")), ("content-type", "application/json".into())],
        big.as_bytes(),
    )
    .await;
    assert_eq!(status, 413, "chunked sync request: {body}");
    assert!(is_app_error(&body), "{body}");

    // Extreme or oversized headers are refused, never a crash.
    let mut extreme = Webhook::event("employee.updated", employee);
    extreme.ts = i64::MIN.to_string();
    let (status, body) = extreme.send(&app).await;
    assert_eq!(status, 401, "timestamp i64::MIN: {body}");
    let mut many = Webhook::event("employee.updated", employee);
    many.signature = vec!["v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; 1000].join(" ") + " " + &many.signature;
    let (status, body) = many.send(&app).await;
    assert_eq!(status, 401, "1,000 signatures: {body}");
    assert!(is_app_error(&body), "{body}");
    let long_key = app
        .http
        .post(app.url("/api/sync"))
        .bearer_auth(API_TOKEN)
        .header("idempotency-key", "k".repeat(201))
        .send()
        .await
        .unwrap();
    assert_eq!(long_key.status(), 400);
    assert!(is_app_error(&long_key.json().await.unwrap()));

    // Id lists: 500 is the most a targeted sync takes.
    let ids: Vec<String> = (0..500).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let (status, body) = app.request_sync(Some(json!({ "employee_ids": ids }))).await;
    assert_eq!(status, 202, "500 ids: {body}");

    // Query limits at their edges; over-long values are plain bad requests.
    let long = "x".repeat(10_000);
    for (path, expected) in [
        ("/api/changes?limit=500".to_string(), 200),
        ("/api/changes?limit=501".to_string(), 400),
        ("/api/changes?limit=-1".to_string(), 400),
        ("/api/changes?limit=99999999999999999999".to_string(), 400),
        ("/api/sync/sessions?limit=500".to_string(), 200),
        ("/api/sync/sessions?limit=501".to_string(), 400),
        (format!("/api/changes?employee_id={long}"), 400),
        (format!("/api/changes?type={long}"), 400),
        (format!("/api/sync/sessions/{long}"), 400),
    ] {
        let resp = app.get(&path).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(status, expected, "{}: {body}", &path[..path.len().min(60)]);
        if expected != 200 {
            assert!(is_app_error(&body), "{}: {body}", &path[..path.len().min(60)]);
        }
    }
    app.stop().await;
}
