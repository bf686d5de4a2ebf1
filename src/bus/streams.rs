//! The JetStream streams the service keeps, listed once ([`STREAMS`]): [`Bus::ensure_streams`]
//! creates them and the AsyncAPI document (`asyncapi`) describes them. Names and subjects are
//! templates: `{PREFIX}` is the upper-cased prefix ([`Bus::stream_prefix`]), `{prefix}` the
//! subject prefix.

use std::time::Duration;

pub use async_nats::jetstream::stream::RetentionPolicy;
use async_nats::jetstream::{
    self,
    stream::{Config as StreamConfig, StorageType},
};

use super::{Bus, EVENT_DUPLICATE_WINDOW, EVENT_MAX_AGE, SYNC_DUPLICATE_WINDOW};

/// One stream as it is created (file storage, `JETSTREAM_REPLICAS` replicas).
#[derive(Debug)]
pub struct StreamSpec {
    /// `{PREFIX}_…`.
    pub name: &'static str,
    /// `{prefix}.…`.
    pub subjects: &'static [&'static str],
    pub retention: RetentionPolicy,
    /// How long a message is kept; zero: no age limit.
    pub max_age: Duration,
    /// A message whose `Nats-Msg-Id` came within it is dropped.
    pub duplicate_window: Duration,
}

impl StreamSpec {
    /// An event stream: kept [`EVENT_MAX_AGE`], deduplicated within [`EVENT_DUPLICATE_WINDOW`].
    const fn events(name: &'static str, subjects: &'static [&'static str], retention: RetentionPolicy) -> StreamSpec {
        StreamSpec { name, subjects, retention, max_age: EVENT_MAX_AGE, duplicate_window: EVENT_DUPLICATE_WINDOW }
    }
}

/// The sync queue (a work queue). It still binds the first version's `<p>.sync.requests`, so a
/// queue filled before an upgrade drains. Webhook ids are deduplicated here (intake does no
/// database work); a day covers Standard Webhooks retry schedules. Later repeats are dropped by
/// the worker.
pub const SYNC: StreamSpec = StreamSpec {
    name: "{PREFIX}_SYNC",
    subjects: &["{prefix}.sync.requests", "{prefix}.sync.requests.>"],
    retention: RetentionPolicy::WorkQueue,
    max_age: Duration::ZERO,
    duplicate_window: SYNC_DUPLICATE_WINDOW,
};

/// Sessions' progress events, kept a day.
pub const PROGRESS: StreamSpec = StreamSpec {
    name: "{PREFIX}_PROGRESS",
    subjects: &["{prefix}.sync.progress.*"],
    retention: RetentionPolicy::Limits,
    max_age: Duration::from_secs(24 * 3600),
    duplicate_window: Duration::from_secs(60),
};

/// Change (and `employee_erased`) events.
pub const CHANGES: StreamSpec =
    StreamSpec::events("{PREFIX}_CHANGES", &["{prefix}.changes.>"], RetentionPolicy::Limits);

/// Milestone events.
pub const MILESTONES: StreamSpec =
    StreamSpec::events("{PREFIX}_MILESTONES", &["{prefix}.milestones.>"], RetentionPolicy::Limits);

/// Events queued again for one endpoint (`POST /api/endpoints/{id}/replay`): a work queue, each
/// endpoint's replay consumer takes its own subject; acked copies go.
pub const ENDPOINT_REPLAYS: StreamSpec =
    StreamSpec::events("{PREFIX}_ENDPOINT_REPLAYS", &["{prefix}.endpoints.replay.*"], RetentionPolicy::WorkQueue);

/// Tasks given up on. Its duplicate window is JetStream's default, written out.
pub const DEAD: StreamSpec = StreamSpec {
    name: "{PREFIX}_DEAD",
    subjects: &["{prefix}.sync.dead"],
    retention: RetentionPolicy::Limits,
    max_age: EVENT_MAX_AGE,
    duplicate_window: Duration::from_secs(120),
};

/// Every stream, in the order [`Bus::ensure_streams`] creates them.
pub const STREAMS: [&StreamSpec; 6] = [&SYNC, &PROGRESS, &CHANGES, &MILESTONES, &ENDPOINT_REPLAYS, &DEAD];

impl Bus {
    /// A stream's name under this prefix.
    pub fn stream_name(&self, stream: &StreamSpec) -> String {
        stream.name.replace("{PREFIX}", self.stream_prefix())
    }
    pub fn sync_stream(&self) -> String {
        self.stream_name(&SYNC)
    }
    pub fn progress_stream(&self) -> String {
        self.stream_name(&PROGRESS)
    }
    pub fn changes_stream(&self) -> String {
        self.stream_name(&CHANGES)
    }
    pub fn milestones_stream(&self) -> String {
        self.stream_name(&MILESTONES)
    }
    /// `<P>_ENDPOINT_REPLAYS`: events queued again for one endpoint (`POST /api/endpoints/{id}/replay`).
    pub fn replay_stream(&self) -> String {
        self.stream_name(&ENDPOINT_REPLAYS)
    }
    pub fn dead_stream(&self) -> String {
        self.stream_name(&DEAD)
    }

    /// The stream's configuration under this prefix (before replicas and storage).
    fn stream_config(&self, stream: &StreamSpec) -> StreamConfig {
        StreamConfig {
            name: self.stream_name(stream),
            subjects: stream.subjects.iter().map(|s| s.replace("{prefix}", self.prefix())).collect(),
            retention: stream.retention,
            max_age: stream.max_age,
            duplicate_window: stream.duplicate_window,
            ..Default::default()
        }
    }

    /// Create the streams if missing, and bring the subjects and duplicate window of streams an
    /// older version created up to date (safe to call from every replica at start).
    pub async fn ensure_streams(&self, replicas: usize) -> anyhow::Result<()> {
        // Stream admin can be slow on a busy cluster (R3 placement): a longer timeout and retries.
        let mut admin = jetstream::new(self.client.clone());
        admin.set_timeout(Duration::from_secs(15));
        for spec in STREAMS {
            let config =
                StreamConfig { num_replicas: replicas, storage: StorageType::File, ..self.stream_config(spec) };
            let name = config.name.clone();
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = async {
                    let stream = admin.get_or_create_stream(config.clone()).await.map_err(|e| e.to_string())?;
                    let existing = &stream.cached_info().config;
                    // Created by an older version: widen a shorter window, bind the new subjects
                    // (v2: `<p>.sync.requests.>`, `<p>.changes.>`), keeping the old ones.
                    let mut subjects = existing.subjects.clone();
                    for s in &config.subjects {
                        if !subjects.contains(s) {
                            subjects.push(s.clone());
                        }
                    }
                    // `<p>.changes.*` is covered by `<p>.changes.>` (a server refuses overlaps).
                    let covered: Vec<String> = subjects
                        .iter()
                        .filter(|s| s.ends_with(".*") && subjects.contains(&format!("{}>", &s[..s.len() - 1])))
                        .cloned()
                        .collect();
                    subjects.retain(|s| !covered.contains(s));
                    let window = existing.duplicate_window.max(config.duplicate_window);
                    if window != existing.duplicate_window || subjects != existing.subjects {
                        let updated = StreamConfig { duplicate_window: window, subjects, ..existing.clone() };
                        admin.update_stream(updated).await.map_err(|e| e.to_string())?;
                    }
                    Ok::<(), String>(())
                }
                .await;
                match result {
                    Ok(()) => break,
                    Err(e) if attempt < 5 => {
                        tracing::warn!(stream = %name, attempt, error = %e, "creating stream failed; retrying");
                        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
                    }
                    Err(e) => return Err(anyhow::anyhow!("creating stream {name}: {e}")),
                }
            }
        }
        Ok(())
    }
}
