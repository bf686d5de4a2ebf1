//! Processes a test may kill, signal or restart: the `employes-sync` binary as a child and a
//! throwaway Postgres cluster.

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::{TestEnv, free_port};

/// `employes-sync serve` as a child process (killed on drop); stdout and stderr are collected
/// line by line so a test can wait for a line or search everything the process printed.
pub struct ServiceProcess {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Start the binary with `roles` (e.g. `"worker"`, `"http,worker"`) and the environment's settings;
/// `extra_env` adds or overrides variables. Nothing else leaks in from the test's environment.
pub fn spawn_binary(env: &TestEnv, roles: &str, extra_env: &[(&str, &str)]) -> ServiceProcess {
    use std::io::{BufRead, BufReader, Read};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_employes-sync"));
    cmd.args(["serve", "--roles", roles]);
    for key in employes_sync::config::KEYS.iter().chain(&["CONFIG_FILE", "RUST_LOG", "EMPLOYES_SYNC_PAUSE_AT"]) {
        cmd.env_remove(key);
    }
    cmd.envs(&env.settings)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the employes-sync binary starts");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let streams: [Box<dyn Read + Send>; 2] =
        [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
    for stream in streams {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if std::env::var_os("TEST_LOG").is_some() {
                    eprintln!("[child] {line}");
                }
                lines.lock().unwrap().push(line);
            }
        });
    }
    ServiceProcess { child, lines }
}

impl ServiceProcess {
    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// Everything printed so far, one line per line.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    fn find(&self, needle: &str) -> Option<String> {
        self.lines.lock().unwrap().iter().find(|l| l.contains(needle)).cloned()
    }

    /// Wait until a printed line contains `needle`; panics (with the output's tail) on timeout
    /// or when the process exits first.
    pub async fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.find(needle) {
                return line;
            }
            let exited = self.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                // Let the reader threads catch up before reporting.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(line) = self.find(needle) {
                    return line;
                }
                let out = self.output();
                let tail = &out[out.len().saturating_sub(4000)..];
                panic!("no line with {needle:?} (exit: {exited:?}); output ends with:\n{tail}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The HTTP address the process printed at start.
    pub async fn http_addr(&mut self) -> SocketAddr {
        let marker = "listening on http://";
        let line = self.wait_for_line(marker, Duration::from_secs(30)).await;
        let rest = &line[line.find(marker).unwrap() + marker.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// SIGKILL: no cleanup of any kind.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).unwrap();
    }

    /// The exit status, if the process ends within `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A throwaway Postgres cluster this test may stop and start (the shared server must stay up).
/// `initdb` refuses root, so the server runs as the `postgres` user.
pub struct PgCluster {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl PgCluster {
    /// `None` when no Postgres server binaries are installed here.
    pub fn start() -> Option<PgCluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()?;
        let dir = tempfile::tempdir().unwrap();
        let cluster = PgCluster { port: free_port(), dir, bin };
        let owner = Command::new("chown").arg("postgres:").arg(cluster.dir.path()).status().unwrap();
        assert!(owner.success(), "chown to postgres");
        cluster.pg("initdb", &["-D", &cluster.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        cluster.up();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Start (again) on the same port and data.
    pub fn up(&self) {
        let options =
            format!("-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        self.pg("pg_ctl", &["-D", &self.data(), "-l", &log, "-w", "-o", &options, "start"]);
    }

    /// Stop like a crash: no clean shutdown, connections cut.
    pub fn crash(&self) {
        self.pg("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stall the server without closing a connection: SIGSTOP to the postmaster, then to each of
    /// its backends (they would otherwise go on answering on connections already open).
    pub fn freeze(&self) {
        self.signal_all(nix::sys::signal::Signal::SIGSTOP);
    }

    /// Let a frozen server go on.
    pub fn thaw(&self) {
        self.signal_all(nix::sys::signal::Signal::SIGCONT);
    }

    fn signal_all(&self, signal: nix::sys::signal::Signal) {
        // No pid file: the server is not running (stopped or crashed), nothing to signal.
        let Ok(pid_file) = std::fs::read_to_string(self.dir.path().join("data/postmaster.pid")) else { return };
        let Some(postmaster) = pid_file.lines().next().and_then(|l| l.trim().parse::<i32>().ok()) else { return };
        let children = std::fs::read_dir("/proc").unwrap().filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`; comm may hold spaces, so read after the last ')'.
            let ppid: i32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == postmaster).then_some(pid)
        });
        for pid in std::iter::once(postmaster).chain(children.collect::<Vec<_>>()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // A test that failed while the server was frozen must not leave it stopped.
        self.thaw();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}
