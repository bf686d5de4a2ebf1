//! Child processes a test may kill, signal or wait for: `employes-sync serve` (or any command)
//! with its output captured line by line, or written to a log file.

use std::{
    io::{BufRead as _, BufReader, Read},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use nix::sys::signal::Signal;

use crate::poll::poll;

/// `<binary> serve --roles <roles>` with `settings` as its whole configuration: nothing of this
/// process's configuration leaks in; JSON logs at `info` (a setting may override either).
pub fn serve_command<K, V>(binary: &Path, roles: &str, settings: impl IntoIterator<Item = (K, V)>) -> Command
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(binary);
    cmd.args(["serve", "--roles", roles]);
    for key in employes_sync::config::KEYS.iter().chain(&["CONFIG_FILE", "RUST_LOG", "EMPLOYES_SYNC_PAUSE_AT"]) {
        cmd.env_remove(key);
    }
    cmd.env("LOG_FORMAT", "json").env("RUST_LOG", "info").envs(settings);
    cmd
}

/// Where a child's stdout and stderr go.
enum Output {
    /// Collected line by line (echoed to stderr with `TEST_LOG=1`) by one reader thread per
    /// stream, each done when its stream ends.
    Lines(Arc<Mutex<Vec<String>>>, Vec<std::thread::JoinHandle<()>>),
    /// Written to a file.
    File(PathBuf),
}

/// A child process, killed (SIGKILL) on drop.
pub struct ServiceProcess {
    child: Child,
    output: Output,
}

impl ServiceProcess {
    /// Start `cmd`, collecting what it prints so a test can wait for a line or search it all.
    pub fn spawn(mut cmd: Command) -> ServiceProcess {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?}: {e}", cmd.get_program()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let streams: [Box<dyn Read + Send>; 2] =
            [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        let mut readers = Vec::with_capacity(streams.len());
        for stream in streams {
            let lines = lines.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if std::env::var_os("TEST_LOG").is_some() {
                        eprintln!("[child] {line}");
                    }
                    lines.lock().unwrap().push(line);
                }
            }));
        }
        ServiceProcess { child, output: Output::Lines(lines, readers) }
    }

    /// Start `cmd` with its stdout and stderr written to `log` (nothing read in this process).
    pub fn spawn_logging_to(mut cmd: Command, log: &Path) -> ServiceProcess {
        let out = std::fs::File::create(log).unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {:?} (is it built?): {e}", cmd.get_program()));
        ServiceProcess { child, output: Output::File(log.to_path_buf()) }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything printed so far, one line per line.
    pub fn output(&self) -> String {
        match &self.output {
            Output::Lines(lines, _) => lines.lock().unwrap().join("\n"),
            Output::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
        }
    }

    fn find(&self, needle: &str) -> Option<String> {
        match &self.output {
            Output::Lines(lines, _) => lines.lock().unwrap().iter().find(|l| l.contains(needle)).cloned(),
            Output::File(_) => self.output().lines().find(|l| l.contains(needle)).map(str::to_string),
        }
    }

    /// Wait until a printed line contains `needle`; panics (with the output's tail) on timeout
    /// or when the process exits first.
    pub async fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let seen = poll(timeout, Duration::from_millis(20), async || match self.find(needle) {
            Some(line) => Some(Ok(line)),
            None => self.child.try_wait().unwrap().map(Err),
        })
        .await;
        let exited = match seen {
            Ok(Ok(line)) => return line,
            Ok(Err(status)) => Some(status),
            Err(_) => None,
        };
        if exited.is_some() {
            // Its last lines may still be in the reader threads.
            self.read_to_end().await;
        }
        if let Some(line) = self.find(needle) {
            return line;
        }
        let out = self.output();
        let tail = &out[out.len().saturating_sub(4000)..];
        panic!("no line with {needle:?} (exit: {exited:?}); output ends with:\n{tail}");
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

    pub fn signal(&self, signal: Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// The exit status, if the process ends within `timeout`; once it has, everything it
    /// printed is in [`Self::output`] ([`Self::read_to_end`]).
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = poll(timeout, Duration::from_millis(20), async || self.child.try_wait().unwrap()).await.ok()?;
        self.read_to_end().await;
        Some(status)
    }

    /// Once the process has exited: wait until its streams are read to their end (which it
    /// reaches at once — within 5 s, or the output is taken as it is), so everything it printed
    /// is in [`Self::output`].
    async fn read_to_end(&self) {
        if let Output::Lines(_, readers) = &self.output {
            let read = async || readers.iter().all(std::thread::JoinHandle::is_finished);
            let _ = poll(Duration::from_secs(5), Duration::from_millis(10), read).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_printed_after_the_process_exited_is_found_once_its_output_ends() {
        // Arrange: the shell exits at once; the subshell it left holds its stdout, prints the line
        // 300 ms later and then closes it.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "(sleep 0.3; echo last words) & exit 0"]);
        let mut process = ServiceProcess::spawn(cmd);
        // Act
        let line = process.wait_for_line("last words", Duration::from_secs(30)).await;
        // Assert
        assert_eq!(line, "last words");
    }
}
