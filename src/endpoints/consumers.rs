//! Each endpoint's delivery state in JetStream: durable pull consumers named after the endpoint
//! (one per filter subject: a company's or every company's events of one type, or of all types),
//! so every replica pulls from the same consumers (sharing the work) and a restart resumes where
//! the acks left off. One filter per consumer keeps this to what NATS 2.9 offers.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use uuid::Uuid;

use super::filter::{EventKind, subjects};
use crate::bus::Bus;

/// The streams an endpoint's consumers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Changes,
    Milestones,
    Replay,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Changes, Source::Milestones, Source::Replay];

    pub fn stream(self, bus: &Bus) -> String {
        match self {
            Source::Changes => bus.changes_stream(),
            Source::Milestones => bus.milestones_stream(),
            Source::Replay => bus.replay_stream(),
        }
    }
}

/// What one endpoint subscribes to.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub endpoint: Uuid,
    pub company: Option<Uuid>,
    pub types: Option<Vec<EventKind>>,
    /// A consumer made now delivers events published from then on: the endpoint's creation, or
    /// the change that added a type.
    pub since: DateTime<Utc>,
}

/// One consumer of an endpoint: where, what, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub source: Source,
    pub filter: String,
    pub name: String,
}

/// `<PREFIX>_endpoint_<id>_`: every consumer of the endpoint starts so.
fn name_prefix(bus: &Bus, endpoint: Uuid) -> String {
    format!("{}_endpoint_{}_", bus.stream_prefix(), endpoint.simple())
}

impl Wanted {
    /// The consumers the endpoint needs.
    pub fn plan(&self, bus: &Bus) -> Vec<Planned> {
        let prefix = name_prefix(bus, self.endpoint);
        let s = subjects(bus.prefix(), self.company, self.types.as_deref());
        let tag = |filter: &str| filter.rsplit('.').next().unwrap_or("all").replace('>', "all");
        let mut out: Vec<Planned> = Vec::new();
        for (source, filters, stream) in
            [(Source::Changes, s.changes, "changes"), (Source::Milestones, s.milestones, "milestones")]
        {
            for filter in filters {
                out.push(Planned { source, name: format!("{prefix}{stream}_{}", tag(&filter)), filter });
            }
        }
        out.push(Planned {
            source: Source::Replay,
            filter: bus.replay_subject(self.endpoint),
            name: format!("{prefix}replay"),
        });
        out
    }
}

/// How long a delivery may stay unacked before another replica gets it: the attempt's timeout
/// and a margin for recording it.
pub fn ack_wait(attempt_timeout: Duration) -> Duration {
    attempt_timeout + Duration::from_secs(10)
}

/// The planned consumer, created when missing; `None` while its stream does not exist (the
/// milestones and replay streams appear with their first use).
pub async fn ensure(
    bus: &Bus,
    wanted: &Wanted,
    planned: &Planned,
    attempt_timeout: Duration,
) -> anyhow::Result<Option<PullConsumer>> {
    let Ok(stream) = bus.js.get_stream(planned.source.stream(bus)).await else { return Ok(None) };
    let start = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(wanted.since.timestamp_micros()) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let config = pull::Config {
        durable_name: Some(planned.name.clone()),
        description: Some(format!("deliveries to endpoint {}", wanted.endpoint)),
        deliver_policy: match planned.source {
            Source::Replay => DeliverPolicy::All,
            _ => DeliverPolicy::ByStartTime { start_time: start },
        },
        ack_policy: AckPolicy::Explicit,
        ack_wait: ack_wait(attempt_timeout),
        // The retry schedule is ours (delayed NAKs), not JetStream's.
        max_deliver: -1,
        filter_subject: planned.filter.clone(),
        max_ack_pending: 10_000,
        ..Default::default()
    };
    Ok(Some(stream.get_or_create_consumer(&planned.name, config).await?))
}

/// The endpoint's consumers that its company and types no longer call for (or all of them, for a
/// deleted endpoint: `keep` empty) are removed, with what they held.
pub async fn prune(bus: &Bus, endpoint: Uuid, keep: &[Planned]) {
    let prefix = name_prefix(bus, endpoint);
    for source in Source::ALL {
        let Ok(stream) = bus.js.get_stream(source.stream(bus)).await else { continue };
        let Ok(names) = stream.consumer_names().try_collect::<Vec<String>>().await else { continue };
        for name in names.into_iter().filter(|n| n.starts_with(&prefix) && !keep.iter().any(|k| &k.name == n)) {
            let _ = stream.delete_consumer(&name).await;
        }
    }
}

/// Events waiting for the endpoint (not yet delivered, or delivered and not acked).
pub async fn pending(bus: &Bus, wanted: &Wanted) -> u64 {
    let mut total = 0;
    for planned in wanted.plan(bus) {
        let Ok(stream) = bus.js.get_stream(planned.source.stream(bus)).await else { continue };
        if let Ok(info) = stream.consumer_info(&planned.name).await {
            total += info.num_pending + info.num_ack_pending as u64;
        }
    }
    total
}
