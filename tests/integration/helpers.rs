//! Test harness: a real `nats-server -js` per test (free port, temp store), a fresh Postgres
//! database per test, the simulator in-process, and the real app on `127.0.0.1:0`.

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Once,
    time::{Duration, Instant},
};

use employes_sync::{
    app::App,
    bus::Bus,
    cli::Role,
    config::Config,
    db::Db,
    simulator::{SimConfig, Simulator},
};
use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const API_TOKEN: &str = "ci-token-0123456789abcdef";
pub const JWT_SECRET: &str = "jwt-test-secret-0123456789";
/// `whsec_` + base64("test-webhook-secret-0123456789")
pub const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5";
pub const WEBHOOK_KEY: &[u8] = b"test-webhook-secret-0123456789";

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            employes_sync::telemetry::init(Some(employes_sync::config::LogFormat::Pretty));
        }
    });
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A throwaway `nats-server -js`, killed on drop.
pub struct Nats {
    pub port: u16,
    pub store: tempfile::TempDir,
    child: Option<Child>,
}

fn nats_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        return p.into();
    }
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"] {
        if std::path::Path::new(p).exists() {
            return p.into();
        }
    }
    "nats-server".into()
}

impl Nats {
    pub fn start() -> Nats {
        let mut n = Nats { port: free_port(), store: tempfile::tempdir().unwrap(), child: None };
        n.restart();
        n
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// (Re)start on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(nats_binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (apt-get install nats-server)");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freeze the server (SIGSTOP): connections stay open but nothing is answered.
    pub fn freeze(&self) {
        self.signal(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Let a frozen server go on (SIGCONT); it then handles what it was sent meanwhile.
    pub fn thaw(&self) {
        self.signal(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        let child = self.child.as_ref().expect("nats-server is running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} never opened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Admin connection string of the test Postgres server.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database; returns its URL.
pub async fn fresh_database() -> String {
    use sqlx::Connection;
    let admin = admin_url();
    // `TEST_DB_PREFIX` (set by scripts/test.sh per run) lets concurrent runs clean up only their own.
    let prefix = std::env::var("TEST_DB_PREFIX").unwrap_or_else(|_| "es_test_".into());
    let name = format!("{prefix}{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("Postgres must be running (see README)");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    format!("{base}/{name}")
}

/// Everything a test needs: NATS, a database, a simulator, and settings for the app.
pub struct TestEnv {
    pub nats: Nats,
    pub sim_url: String,
    pub settings: HashMap<String, String>,
    sim_stop: CancellationToken,
    pub sim: Option<Simulator>,
    /// Whether the simulator posts webhooks to the first HTTP app after mutations.
    pub sim_webhooks: bool,
}

impl TestEnv {
    /// A fast simulator by default (no latency, high rate limit) so tests take seconds.
    pub async fn new() -> TestEnv {
        TestEnv::with_sim(SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }).await
    }

    pub async fn with_sim(sim: SimConfig) -> TestEnv {
        init_tracing();
        let nats = Nats::start();
        let database_url = fresh_database().await;
        let sim = Simulator::bind(SimConfig { addr: "127.0.0.1:0".parse().unwrap(), ..sim }).await.unwrap();
        let sim_url = sim.root_url();
        let company_id = sim.company_id();
        let prefix = format!("t{}", &Uuid::new_v4().simple().to_string()[..10]);
        let settings: HashMap<String, String> = [
            ("DATABASE_URL", database_url.clone()),
            ("NATS_URL", nats.url()),
            ("NATS_SUBJECT_PREFIX", prefix.clone()),
            ("HTTP_ADDR", "127.0.0.1:0".into()),
            ("EMPLOYES_API_URL", sim.base_url()),
            ("EMPLOYES_API_KEY", "test-api-key-secret-value".into()),
            ("EMPLOYES_COMPANY_ID", company_id.to_string()),
            ("EMPLOYES_RATE_LIMIT", "1000".into()),
            ("EMPLOYES_REQUEST_TIMEOUT", "2s".into()),
            ("API_TOKENS", format!("ci:{API_TOKEN}")),
            ("AUTH_JWT_SECRET", JWT_SECRET.into()),
            ("WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("WEBHOOK_COALESCE_WINDOW", "300ms".into()),
            ("SYNC_SCHEDULE", "off".into()),
            ("WORKER_ACK_WAIT", "5s".into()),
            ("WORKER_HEARTBEAT", "1s".into()),
            ("SHUTDOWN_TIMEOUT", "10s".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        TestEnv { sim_webhooks: true, nats, sim_url, settings, sim_stop: CancellationToken::new(), sim: Some(sim) }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.settings.insert(key.to_string(), value.to_string());
        self
    }

    pub fn config(&self) -> Config {
        Config::from_map(&self.settings).expect("test config is valid")
    }

    /// Start the simulator (once) and an app with every role.
    pub async fn spawn_app(&mut self) -> TestApp {
        self.spawn_app_with_roles(vec![Role::Http, Role::Worker, Role::Scheduler]).await
    }

    pub async fn spawn_app_with_roles(&mut self, roles: Vec<Role>) -> TestApp {
        if !roles.contains(&Role::Http) {
            self.start_simulator();
        }
        let app = App::build(self.config(), roles).await.expect("app builds");
        let addr = app.local_addr();
        // The first app with HTTP receives the simulator's webhooks.
        if let (Some(sim), Some(addr)) = (self.sim.take_if(|_| addr.is_some()), addr) {
            if self.sim_webhooks {
                sim.set_webhook_target(format!("http://{addr}/webhooks/employes"), WEBHOOK_SECRET.to_string().into());
            }
            let stop = self.sim_stop.clone();
            tokio::spawn(async move { sim.run_until_stopped(stop).await });
        }
        let db = app.db().clone();
        let bus = app.bus().clone();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        TestApp {
            addr,
            db,
            bus,
            shutdown,
            handle: Some(handle),
            http: reqwest::Client::new(),
            sim_url: self.sim_url.clone(),
        }
    }
}

impl TestEnv {
    /// Serve the simulator without a webhook target.
    pub fn start_simulator(&mut self) {
        if let Some(sim) = self.sim.take() {
            let stop = self.sim_stop.clone();
            tokio::spawn(async move { sim.run_until_stopped(stop).await });
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        self.sim_stop.cancel();
    }
}

pub struct TestApp {
    pub addr: Option<SocketAddr>,
    pub db: Db,
    pub bus: Bus,
    pub shutdown: CancellationToken,
    pub handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub http: reqwest::Client,
    pub sim_url: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("app has the http role"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(API_TOKEN).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// `POST /api/sync` with an optional body; returns (status, json).
    pub async fn request_sync(&self, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.post(self.url("/api/sync")).bearer_auth(API_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// Request a sync and wait for it to end; returns the session JSON.
    pub async fn sync_and_wait(&self, body: Option<Value>) -> Value {
        let (status, requested) = self.request_sync(body).await;
        assert_eq!(status, 202, "{requested}");
        self.wait_for_session(requested["session_id"].as_str().unwrap()).await
    }

    /// The session a webhook was admitted into (the worker admits queued webhook events).
    pub async fn webhook_session(&self, webhook_id: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let linked: Option<String> = sqlx::query_scalar(
                "SELECT session_id::text FROM webhook_deliveries
                 WHERE webhook_id = $1 AND outcome = 'accepted' AND session_id IS NOT NULL",
            )
            .bind(webhook_id)
            .fetch_optional(&self.db)
            .await
            .unwrap();
            if let Some(id) = linked {
                return id;
            }
            assert!(Instant::now() < deadline, "webhook {webhook_id} was never admitted into a session");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_session(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let s = self.get_json(&format!("/api/sync/sessions/{id}")).await;
            let status = s["status"].as_str().unwrap_or_default();
            if matches!(status, "completed" | "completed_with_errors" | "failed") {
                return s;
            }
            assert!(Instant::now() < deadline, "session {id} still {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let resp = self.http.post(format!("{}{path}", self.sim_url)).json(&body).send().await.unwrap();
        assert!(resp.status().is_success(), "sim {path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    pub async fn sim_get(&self, path: &str) -> Value {
        self.http.get(format!("{}{path}", self.sim_url)).send().await.unwrap().json().await.unwrap()
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// Collect every message currently on a subject filter of a stream (JetStream replay).
/// Write `request` — a head and only part of the body it announces — on a raw connection, then
/// wait (at most 10 s) for the first answer. Returns the answer and how long it took to come.
pub async fn stalled_request(app: &TestApp, request: &[u8]) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr.expect("app has the http role")).await.unwrap();
    stream.write_all(request).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await.unwrap().unwrap();
    (String::from_utf8_lossy(&answer[..n]).into_owned(), started.elapsed())
}

pub async fn stream_messages(bus: &Bus, stream: &str, filter: &str) -> Vec<Value> {
    use async_nats::jetstream::consumer::{DeliverPolicy, pull::OrderedConfig};
    // On a cluster that just lost a node the stream may be electing a leader: retry a little.
    let mut attempt = 0;
    let stream = loop {
        attempt += 1;
        match bus.js.get_stream(stream).await {
            Ok(s) => break s,
            Err(e) if attempt < 10 => {
                eprintln!("get_stream {stream}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("get_stream {stream}: {e}"),
        }
    };
    let info = stream.cached_info().state.messages;
    if info == 0 {
        return Vec::new();
    }
    let config =
        OrderedConfig { filter_subject: filter.to_string(), deliver_policy: DeliverPolicy::All, ..Default::default() };
    attempt = 0;
    let consumer = loop {
        attempt += 1;
        match stream.create_consumer(config.clone()).await {
            Ok(c) => break c,
            Err(e) if attempt < 10 => {
                eprintln!("creating a replay consumer failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("cannot replay {filter}: {e}"),
        }
    };
    let mut messages = consumer.messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
        out.push(serde_json::from_slice(&m.payload).unwrap());
    }
    out
}

/// Every change CloudEvent on the changes stream.
pub async fn change_events(app: &TestApp) -> Vec<Value> {
    let prefix = app.bus.prefix().to_string();
    stream_messages(&app.bus, &app.bus.changes_stream(), &format!("{prefix}.changes.>")).await
}

pub async fn progress_events(app: &TestApp, session: &str) -> Vec<Value> {
    let subject = format!("{}.sync.progress.{session}", app.bus.prefix());
    stream_messages(&app.bus, &app.bus.progress_stream(), &subject).await
}

pub fn json_ids(v: &Value, key: &str) -> Vec<String> {
    v[key].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
}

impl TestEnv {
    /// A client for an app that runs elsewhere (a child process) against this environment.
    pub async fn attach(&self, addr: SocketAddr) -> TestApp {
        let config = self.config();
        let db = employes_sync::db::pool(config.database_url()).unwrap();
        let bus = Bus::connect(&config.nats_urls, &config.subject_prefix).await.unwrap();
        TestApp {
            addr: Some(addr),
            db,
            bus,
            shutdown: CancellationToken::new(),
            handle: None,
            http: reqwest::Client::new(),
            sim_url: self.sim_url.clone(),
        }
    }
}

/// The change ids an uninterrupted first full sync records: every transition in the
/// simulator's ground-truth employment history.
pub async fn expected_history_change_ids(app: &TestApp) -> std::collections::BTreeSet<String> {
    use employes_sync::domain::{History, detect_history_changes};
    let truth = app.sim_get("/_sim/employees").await;
    truth["employees"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| {
            let id = Uuid::parse_str(e["id"].as_str().unwrap()).unwrap();
            let employments = e["employments"].as_array().cloned().unwrap_or_default();
            detect_history_changes(id, &History::from_employments(&employments))
        })
        .map(|c| c.id().to_string())
        .collect()
}

/// Poll `GET path` until `done` holds for its JSON (errors and non-2xx answers count as
/// "not yet", e.g. while a dependency is down); panics after `timeout`.
pub async fn poll_json(app: &TestApp, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    let mut last = Value::Null;
    loop {
        if let Ok(resp) = app.http.get(app.url(path)).bearer_auth(API_TOKEN).send().await {
            if resp.status().is_success() {
                if let Ok(v) = resp.json::<Value>().await {
                    if done(&v) {
                        return v;
                    }
                    last = v;
                }
            }
        }
        assert!(Instant::now() < deadline, "GET {path} never got there: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Standard Webhooks signature written from the spec, independent of the production verifier:
/// `v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`.
pub fn reference_sign(key: &[u8], id: &str, ts: i64, body: &[u8]) -> String {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}
