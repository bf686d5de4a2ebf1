//! Test harness: the real app on `127.0.0.1:0` against a fresh Postgres database, a real
//! `nats-server -js` (free port, temp store) and the simulator in-process — the pieces come
//! from `testkit`; what is here is the app these tests drive and what they ask of it.

use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    path::Path,
    sync::Once,
    time::Duration,
};

use employes_sync::{
    app::App,
    bus::Bus,
    cli::Role,
    config::Config,
    db::Db,
    simulator::{SimConfig, Simulator},
};
use serde_json::Value;
use testkit::{
    process::serve_command,
    settings::{service_settings, subject_prefix},
    sim::{SimControl, SimServer},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use testkit::{
    API_TOKEN, JWT_SECRET, WEBHOOK_KEY, WEBHOOK_SECRET, Webhook, eventually, free_port,
    http::{json_ids, read_response, stalled_request},
    nats::{Nats, NatsCluster},
    postgres::{PgCluster, fresh_database},
    process::ServiceProcess,
    reply,
    webhook::{Delivered, Receiver},
};

fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            employes_sync::telemetry::init(Some(employes_sync::config::LogFormat::Pretty));
        }
    });
}

/// Everything a test needs: NATS, a database, a simulator, and settings for the app.
pub struct TestEnv {
    pub nats: Nats,
    pub settings: HashMap<String, String>,
    /// The simulator's companies, in order (all of them in `EMPLOYES_COMPANY_ID`).
    pub companies: Vec<Uuid>,
    /// The simulator's control API.
    pub sim_control: SimControl,
    /// Bound, not yet served: the first app with HTTP serves it (as its webhook target).
    sim: Option<Simulator>,
    served: Option<SimServer>,
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
        let mut settings =
            service_settings(&database_url, &nats.url(), &subject_prefix('t'), &sim.base_url(), sim.company_id());
        let companies: Vec<Uuid> = sim.companies().iter().map(|c| c.id).collect();
        let ids: Vec<String> = companies.iter().map(Uuid::to_string).collect();
        settings.insert("EMPLOYES_COMPANY_ID".into(), ids.join(","));
        for (key, value) in [
            ("EMPLOYES_REQUEST_TIMEOUT", "2s"),
            ("AUTH_JWT_SECRET", JWT_SECRET),
            ("WEBHOOK_COALESCE_WINDOW", "300ms"),
            ("WORKER_ACK_WAIT", "5s"),
            ("WORKER_HEARTBEAT", "1s"),
            ("SHUTDOWN_TIMEOUT", "10s"),
        ] {
            settings.insert(key.to_string(), value.to_string());
        }
        let sim_control = SimControl::new(sim.root_url());
        TestEnv { nats, settings, companies, sim_control, sim: Some(sim), served: None, sim_webhooks: true }
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
            self.served = Some(SimServer::serve(sim));
        }
        let (db, bus, companies) = (app.db().clone(), app.bus().clone(), app.companies().clone());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let mut test_app = TestApp::new(addr, db, bus, shutdown, Some(handle), self.sim_control.clone());
        test_app.companies = Some(companies);
        test_app
    }

    /// Serve the simulator without a webhook target.
    pub fn start_simulator(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.served = Some(SimServer::serve(sim));
        }
    }

    /// A client for an app that runs elsewhere (a child process) against this environment.
    pub async fn attach(&self, addr: SocketAddr) -> TestApp {
        let config = self.config();
        let db = employes_sync::db::pool(config.database_url()).unwrap();
        let bus = Bus::connect(&config.nats_urls, &config.subject_prefix).await.unwrap();
        TestApp::new(Some(addr), db, bus, CancellationToken::new(), None, self.sim_control.clone())
    }
}

/// Start the binary with `roles` (e.g. `"worker"`, `"http,worker"`) and the environment's settings;
/// `extra_env` adds or overrides variables. Nothing else leaks in from the test's environment.
pub fn spawn_binary(env: &TestEnv, roles: &str, extra_env: &[(&str, &str)]) -> ServiceProcess {
    let settings = env.settings.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let binary = Path::new(env!("CARGO_BIN_EXE_employes-sync"));
    ServiceProcess::spawn(serve_command(binary, roles, settings.chain(extra_env.iter().copied())))
}

pub struct TestApp {
    pub addr: Option<SocketAddr>,
    pub db: Db,
    pub bus: Bus,
    pub shutdown: CancellationToken,
    pub handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub http: reqwest::Client,
    pub sim: SimControl,
    /// The app's companies (for an app in this process).
    pub companies: Option<employes_sync::companies::Registry>,
}

impl Receiver for TestApp {
    fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn webhook_url(&self) -> String {
        self.url("/webhooks/employes")
    }
}

impl TestApp {
    fn new(
        addr: Option<SocketAddr>,
        db: Db,
        bus: Bus,
        shutdown: CancellationToken,
        handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
        sim: SimControl,
    ) -> TestApp {
        TestApp { addr, db, bus, shutdown, handle, http: reqwest::Client::new(), sim, companies: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr.expect("app has the http role"))
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(API_TOKEN).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        testkit::http::json_ok(self.get(path).await, &format!("GET {path}")).await
    }

    /// `POST /api/sync` with an optional body; returns (status, json).
    pub async fn request_sync(&self, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.post(self.url("/api/sync")).bearer_auth(API_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        reply(req.send().await.unwrap()).await
    }

    /// Request a sync and wait for it to end; returns the session JSON.
    pub async fn sync_and_wait(&self, body: Option<Value>) -> Value {
        let (status, requested) = self.request_sync(body).await;
        assert_eq!(status, 202, "{requested}");
        self.wait_for_session(requested["session_id"].as_str().unwrap()).await
    }

    /// The session a webhook was admitted into (the worker admits queued webhook events).
    pub async fn webhook_session(&self, webhook_id: &str) -> String {
        eventually(&format!("webhook {webhook_id} admitted into a session"), Duration::from_secs(30), async || {
            sqlx::query_scalar::<_, String>(
                "SELECT session_id::text FROM webhook_deliveries
                 WHERE webhook_id = $1 AND outcome = 'accepted' AND session_id IS NOT NULL",
            )
            .bind(webhook_id)
            .fetch_optional(&self.db)
            .await
            .unwrap()
        })
        .await
    }

    /// The session once it has ended (completed, completed with errors, or failed).
    pub async fn wait_for_session(&self, id: &str) -> Value {
        eventually(&format!("session {id} ends"), Duration::from_secs(90), async || {
            let s = self.get_json(&format!("/api/sync/sessions/{id}")).await;
            if is_final(&s) { Ok(s) } else { Err(s["status"].to_string()) }
        })
        .await
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            h.await.unwrap().unwrap();
        }
    }
}

/// Poll `GET path` until `done` holds for its JSON (errors and non-2xx answers count as
/// "not yet", e.g. while a dependency is down); panics after `timeout`.
pub async fn poll_json(app: &TestApp, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("GET {path} gets there"), timeout, async || {
        let resp = app.http.get(app.url(path)).bearer_auth(API_TOKEN).send().await;
        match resp.map_err(|e| e.to_string()) {
            Ok(resp) => match reply(resp).await {
                (200..300, v) if done(&v) => Ok(v),
                (status, v) => Err(format!("{status} {v}")),
            },
            Err(e) => Err(e),
        }
    })
    .await
}

/// The `SELECT count(*) …` (or any one bigint) of `sql`.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

/// How many times a worker has claimed the session.
pub async fn attempts(app: &TestApp, session: &str) -> i32 {
    sqlx::query_scalar("SELECT attempts FROM sync_sessions WHERE id = $1::uuid")
        .bind(session)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Messages on the sync queue (requests and webhook events not yet taken off it).
pub async fn queued_requests(app: &TestApp) -> u64 {
    let mut stream = app.bus.js.get_stream(app.bus.sync_stream()).await.unwrap();
    stream.info().await.unwrap().state.messages
}

/// Whether a session has ended.
pub fn is_final(s: &Value) -> bool {
    matches!(s["status"].as_str(), Some("completed" | "completed_with_errors" | "failed"))
}

/// Every change CloudEvent on the changes stream.
pub async fn change_events(app: &TestApp) -> Vec<Value> {
    let filter = format!("{}.changes.>", app.bus.prefix());
    testkit::nats::replay(&app.bus.js, &app.bus.changes_stream(), &filter).await
}

/// Every dead letter on `<P>_DEAD` (tasks given up on).
pub async fn dead_letters(app: &TestApp) -> Vec<Value> {
    testkit::nats::replay(&app.bus.js, &app.bus.dead_stream(), &app.bus.dead_letter_subject()).await
}

pub async fn progress_events(app: &TestApp, session: &str) -> Vec<Value> {
    let subject = format!("{}.sync.progress.{session}", app.bus.prefix());
    testkit::nats::replay(&app.bus.js, &app.bus.progress_stream(), &subject).await
}

/// The change ids an uninterrupted first full sync records: every transition in the
/// simulator's ground-truth employment history.
pub async fn expected_history_change_ids(app: &TestApp) -> BTreeSet<String> {
    use employes_sync::domain::{History, detect_history_changes};
    let truth = app.sim.truth().await;
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
