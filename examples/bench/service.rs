//! `employes-sync serve` as a child process for a scenario (own database and subject prefix,
//! the release binary, its log in `target/bench-results/`), what `/proc` says about a process,
//! and `perf record` attached to one.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;
use serde_json::Value;
use testkit::{
    API_TOKEN, free_port,
    nats::Nats,
    poll::poll,
    postgres::fresh_database_named,
    process::{ServiceProcess, serve_command},
    settings::{service_settings, subject_prefix},
    sim::SimServer,
};

use crate::report::results_dir;

/// The `SECRETS_KEY` every service of a run seals keys and secrets with (made once per run).
fn secrets_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        use secrecy::ExposeSecret as _;
        employes_sync::companies::SecretsKey::generate().to_base64().expose_secret().to_string()
    })
}

/// Total CPU seconds (user + system) a process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// A KiB figure of `/proc/<pid>/status` (`field` as `"VmRSS:"`).
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

/// `employes-sync serve` as a child process with its own database and subject prefix.
pub struct Service {
    process: ServiceProcess,
    addr: SocketAddr,
    pub prefix: String,
    pub http: reqwest::Client,
    pub database_url: String,
    /// What it was started with, for a replica.
    roles: String,
    settings: HashMap<String, String>,
}

impl Service {
    /// Start the release binary with `roles` against `nats` and `sim` (Employes at `rate`
    /// requests/s); `extra` adds or overrides settings. Ready once `/readyz` answers 200.
    pub async fn start(
        name: &str,
        nats: &Nats,
        sim: &SimServer,
        rate: u32,
        roles: &str,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Service> {
        let (database_url, prefix) = (fresh_database_named(&scratch_db_prefix()).await, subject_prefix('b'));
        let mut settings = service_settings(&database_url, &nats.url(), &prefix, &sim.base, sim.company);
        settings.insert("SECRETS_KEY".into(), secrets_key().into());
        settings.insert("EMPLOYES_RATE_LIMIT".into(), rate.to_string());
        settings.insert("HTTP_ADDR".into(), format!("127.0.0.1:{}", free_port()));
        settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        settings.extend(overrides());
        Service::spawn(name, roles, settings).await
    }

    /// Another replica of `self`, started as it was: the same database, subject prefix, roles
    /// and settings, on a port of its own.
    pub async fn replica(&self, name: &str) -> anyhow::Result<Service> {
        let mut settings = self.settings.clone();
        settings.insert("HTTP_ADDR".into(), format!("127.0.0.1:{}", free_port()));
        Service::spawn(name, &self.roles, settings).await
    }

    async fn spawn(name: &str, roles: &str, settings: HashMap<String, String>) -> anyhow::Result<Service> {
        let addr: SocketAddr = settings["HTTP_ADDR"].parse().context("HTTP_ADDR")?;
        let binary = testkit::repo_root().join("target/release/employes-sync");
        let log = results_dir().join(format!("{name}-service.log"));
        let mut cmd = serve_command(&binary, roles, settings.clone());
        if std::env::var("BENCH_CALLGRIND").is_ok_and(|n| n == name) {
            cmd = under_callgrind(&cmd, &results_dir().join(format!("{name}.callgrind.out")));
        }
        let process = ServiceProcess::spawn_logging_to(cmd, &log);
        let svc = Service {
            process,
            addr,
            prefix: settings["NATS_SUBJECT_PREFIX"].clone(),
            http: reqwest::Client::new(),
            database_url: settings["DATABASE_URL"].clone(),
            roles: roles.to_string(),
            settings,
        };
        let ready = poll(Duration::from_secs(60), Duration::from_millis(50), async || {
            svc.http.get(svc.url("/readyz")).send().await.is_ok_and(|r| r.status().is_success())
        });
        ready.await.map_err(|_| anyhow::anyhow!("service did not become ready; see {}", log.display()))?;
        Ok(svc)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// `VmHWM` (peak RSS) and `VmRSS` in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let field = |name: &str| status_kib(self.pid(), name).unwrap_or(0);
        (field("VmHWM:"), field("VmRSS:"))
    }

    /// Total CPU seconds (user + system) the service has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self.http.get(self.url(path)).bearer_auth(API_TOKEN).send().await?.error_for_status()?.json().await?)
    }

    /// `method path` with a JSON body as the kit's admin; the answer's JSON (an error unless 2xx).
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> anyhow::Result<Value> {
        let resp = self.http.request(method, self.url(path)).bearer_auth(API_TOKEN).json(body).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A pool on the service's database, for reading what it stored.
    pub async fn db(&self) -> anyhow::Result<sqlx::PgPool> {
        Ok(sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&self.database_url).await?)
    }
}

/// `cmd` run by `valgrind --tool=callgrind` with collection off until [`Callgrind::on`]
/// (`BENCH_CALLGRIND=<service name>` runs that service so, for instruction counts of a phase).
fn under_callgrind(cmd: &Command, out: &std::path::Path) -> Command {
    let mut wrapped = Command::new("valgrind");
    wrapped.args(["--tool=callgrind", "--collect-atstart=no"]).arg(format!("--callgrind-out-file={}", out.display()));
    wrapped.arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped
}

/// `callgrind_control` on a service started under callgrind: collection on, then off with the
/// instructions counted in between.
pub struct Callgrind(u32, String);

impl Callgrind {
    /// Collection on, when the service runs under callgrind (`BENCH_CALLGRIND`).
    pub fn on(svc: &Service, name: &str) -> Option<Callgrind> {
        std::env::var("BENCH_CALLGRIND").ok().filter(|n| n == name)?;
        let prefix = format!("{name}.callgrind.out");
        for entry in std::fs::read_dir(results_dir()).ok()?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let ok = Command::new("callgrind_control").args(["-i", "on", &svc.pid().to_string()]).status().ok()?;
        ok.success().then_some(Callgrind(svc.pid(), prefix))
    }

    /// Collection off and a dump; the instructions counted (the dump's `totals:` line).
    pub fn finish(self) -> Option<u64> {
        let pid = self.0.to_string();
        Command::new("callgrind_control").args(["-i", "off", &pid]).status().ok()?;
        Command::new("callgrind_control").args(["-d", &pid]).status().ok()?;
        std::thread::sleep(Duration::from_secs(2));
        let mut total = 0;
        for entry in std::fs::read_dir(results_dir()).ok()?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&self.1) {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if let Some(t) = text.lines().find_map(|l| l.strip_prefix("totals: ")) {
                    total += t.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                }
            }
        }
        Some(total)
    }
}

/// `BENCH_PERF=1`: a `perf record -e cpu-clock` attached to a process for a measured phase.
pub struct Perf {
    child: Child,
    data: PathBuf,
    name: String,
}

impl Perf {
    pub fn attach(pid: u32, name: &str) -> Option<Perf> {
        std::env::var_os("BENCH_PERF")?;
        let data = results_dir().join(format!("{name}.perf.data"));
        let child = Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "4999", "-g", "-o"])
            .arg(&data)
            .args(["-p", &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        std::thread::sleep(Duration::from_millis(300));
        Some(Perf { child, data, name: name.to_string() })
    }

    /// Stop recording and write the flat profile (top symbols) next to the data.
    pub fn finish(mut self) -> Option<PathBuf> {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let _ = self.child.wait();
        let out = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "dso,symbol",
                "-g",
                "none",
                "--percent-limit",
                "0.7",
                "-i",
            ])
            .arg(&self.data)
            .output()
            .ok()?;
        let txt = results_dir().join(format!("{}.perf.txt", self.name));
        std::fs::write(&txt, &out.stdout).ok()?;
        Some(txt)
    }
}

/// `BENCH_SERVICE_ENV="KEY=value,KEY=value"`: settings every service of the run is started with on
/// top of the scenario's own (for trying a setting, e.g. `WORKER_CONCURRENCY=128`, without a rebuild).
fn overrides() -> Vec<(String, String)> {
    let raw = std::env::var("BENCH_SERVICE_ENV").unwrap_or_default();
    raw.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.to_string())).collect()
}

/// The name prefix of this run's scratch databases: `bench/run.sh` makes it its own
/// (`es_bench_<pid>_`) and drops only those at its end, so two runs at once leave each other's
/// databases alone.
pub fn scratch_db_prefix() -> String {
    std::env::var("BENCH_DB_PREFIX").unwrap_or_else(|_| "es_bench_".to_string())
}
