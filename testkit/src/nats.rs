//! NATS for tests: a throwaway `nats-server -js` on a free port with a temp store, the local
//! 3-node cluster of `deploy/nats/local-cluster.sh`, and replaying what a stream holds.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
};
use futures::StreamExt as _;
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::{
    http::{free_port, wait_for_port},
    poll::poll,
};

/// `NATS_SERVER_BIN`, else the first `nats-server` found in the usual places, else `$PATH`'s.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NATS_SERVER_BIN") {
        return p.into();
    }
    ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "nats-server".into())
}

/// The client port in a ports file (`{"nats":["nats://127.0.0.1:PORT"]}`).
fn client_port(ports: &str) -> Option<u16> {
    let ports: Value = serde_json::from_str(ports).ok()?;
    ports["nats"][0].as_str()?.rsplit_once(':')?.1.parse().ok()
}

fn signal(pid: u32, signal: Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
}

/// A throwaway `nats-server -js`, killed on drop.
pub struct Nats {
    pub port: u16,
    pub store: tempfile::TempDir,
    child: Option<Child>,
}

impl Nats {
    /// Start on a port the server picks itself (a port picked here could be taken by another
    /// test's server before this one binds it, and the test would then talk to that one).
    pub fn start() -> Nats {
        let store = tempfile::tempdir().unwrap();
        let ports_dir = store.path().join("ports");
        std::fs::create_dir(&ports_dir).unwrap();
        let mut child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", "-1", "-js", "-sd"])
            .arg(store.path().join("js"))
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (see scripts/services.sh)");
        let ports_file = ports_dir.join(format!("nats-server_{}.ports", child.id()));
        let port = std::iter::repeat_with(|| {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::read_to_string(&ports_file).ok().and_then(|ports| client_port(&ports))
        })
        .take(750)
        .find_map(|port| port);
        let Some(port) = port else {
            let _ = child.kill();
            panic!("nats-server wrote no ports file within 15 s");
        };
        wait_for_port(port);
        Nats { port, store, child: Some(child) }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("nats-server is running").id()
    }

    /// Start again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.store.path().join("js"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (see scripts/services.sh)");
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
        signal(self.pid(), Signal::SIGSTOP);
    }

    /// Let a frozen server go on (SIGCONT); it then handles what it was sent meanwhile.
    pub fn thaw(&self) {
        signal(self.pid(), Signal::SIGCONT);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The local 3-node cluster of `deploy/nats/local-cluster.sh`, on free ports, stopped on drop.
pub struct NatsCluster {
    dir: tempfile::TempDir,
    client_ports: Vec<u16>,
}

fn cluster_script() -> PathBuf {
    crate::repo_root().join("deploy/nats/local-cluster.sh")
}

impl NatsCluster {
    pub fn start() -> NatsCluster {
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..9).map(|_| free_port()).collect();
        let list = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let status = Command::new("bash")
            .arg(cluster_script())
            .arg("start")
            .arg("--dir")
            .arg(dir.path())
            .args(["--client-ports", &list(&ports[0..3]), "--cluster-ports", &list(&ports[3..6])])
            .args(["--http-ports", &list(&ports[6..9])])
            .status()
            .unwrap();
        assert!(status.success(), "the local NATS cluster did not start");
        NatsCluster { dir, client_ports: ports[0..3].to_vec() }
    }

    /// The three client URLs, comma-separated (what `NATS_URL` takes).
    pub fn urls(&self) -> String {
        self.client_ports.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }

    /// SIGKILL one node (1-based).
    pub fn kill_node(&self, n: usize) {
        let pid = std::fs::read_to_string(self.dir.path().join(format!("pids/nats-{n}.pid"))).unwrap();
        signal(pid.trim().parse().unwrap(), Signal::SIGKILL);
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(cluster_script()).arg("stop").arg("--dir").arg(self.dir.path()).output();
    }
}

const RETRY_FOR: Duration = Duration::from_secs(30);

/// Every message a stream holds on `filter`, as JSON (an ordered consumer replays from the
/// start). On a cluster that just lost a node the stream may be electing a leader: each step is
/// retried for up to 30 s (an attempt may itself wait for the new leader).
pub async fn replay(js: &jetstream::Context, stream: &str, filter: &str) -> Vec<Value> {
    let every = Duration::from_millis(500);
    let stream = poll(RETRY_FOR, every, async || js.get_stream(stream).await)
        .await
        .unwrap_or_else(|e| panic!("get_stream {stream}: {e}"));
    if stream.cached_info().state.messages == 0 {
        return Vec::new();
    }
    let config =
        OrderedConfig { filter_subject: filter.to_string(), deliver_policy: DeliverPolicy::All, ..Default::default() };
    let consumer = poll(RETRY_FOR, every, async || stream.create_consumer(config.clone()).await)
        .await
        .unwrap_or_else(|e| panic!("cannot replay {filter}: {e}"));
    let mut messages = consumer.messages().await.unwrap();
    let mut out = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), messages.next()).await {
        out.push(serde_json::from_slice(&m.payload).unwrap());
    }
    out
}
