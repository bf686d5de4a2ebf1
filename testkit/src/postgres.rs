//! Postgres for tests: a fresh database on the shared server, and a cluster of a test's own
//! that it may crash, restart or freeze (the shared server must stay up).

use std::{path::PathBuf, process::Command};

use nix::sys::signal::Signal;
use sqlx::Connection as _;
use uuid::Uuid;

use crate::http::free_port;

/// Admin connection string of the shared server: `TEST_DATABASE_URL`, else
/// `ADMIN_DATABASE_URL` (what `scripts/services.sh` exports), else the local default.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .or_else(|_| std::env::var("ADMIN_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database named `$TEST_DB_PREFIX<uuid>` (default prefix `es_test_`; a run of
/// `scripts/test.sh` sets its own, so it drops only its own databases); returns its URL.
pub async fn fresh_database() -> String {
    let prefix = std::env::var("TEST_DB_PREFIX").unwrap_or_else(|_| "es_test_".into());
    fresh_database_named(&prefix).await
}

/// A fresh, empty database named `<prefix><uuid>`; returns its URL.
pub async fn fresh_database_named(prefix: &str) -> String {
    let admin = admin_url();
    let name = format!("{prefix}{}", Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("Postgres must be running (see scripts/services.sh): {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    format!("{base}/{name}")
}

/// A throwaway Postgres cluster this test may stop and start. `initdb` refuses root, so the
/// server runs as the `postgres` user.
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

    fn pg_command(&self, tool: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(self.bin.join(tool)).args(args);
        cmd
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let out = self.pg_command(tool, args).output().unwrap();
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
        self.signal_all(Signal::SIGSTOP);
    }

    /// Let a frozen server go on.
    pub fn thaw(&self) {
        self.signal_all(Signal::SIGCONT);
    }

    fn signal_all(&self, signal: Signal) {
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
        let _ = self.pg_command("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]).output();
    }
}
