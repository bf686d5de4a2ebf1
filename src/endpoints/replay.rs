//! Replay: the events of a time range that match an endpoint (its company and types), read again
//! from the changes and milestones streams and queued on the endpoint's replay subject in
//! `<P>_ENDPOINT_REPLAYS`. The endpoint's replay consumer ([`super::consumers`]) delivers them like
//! any other event — signed, retried, `webhook-id` = the event id, as the first time.
//!
//! Every copy is stored by JetStream before `POST /api/endpoints/{id}/replay` answers `202`, so
//! once queued, a restart (or a replica killed mid-delivery) loses none of them. A range is
//! `[since, until)` by the time each event was stored on its stream.

use async_nats::{
    HeaderMap,
    jetstream::{
        self,
        consumer::{DeliverPolicy, pull::OrderedConfig},
    },
};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use uuid::Uuid;

use super::{
    admin::{Actor, Admin, EndpointError},
    dispatcher::wanted,
    filter::subjects,
};
use crate::{
    bus::Bus,
    db::{audit, endpoints::EndpointRow},
    domain::AuditAction,
};

/// Publishes awaited together (their acks are collected, then awaited).
const IN_FLIGHT: usize = 256;

/// How long the next message of a scan may take before the scan gives up.
const NEXT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

fn offset(at: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.timestamp_micros()) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

impl Admin<'_> {
    /// Queue every event of `endpoint` stored in `[since, until)` (`until` default: now) again;
    /// returns how many were queued, and records the replay in the audit log.
    pub async fn replay(
        &self,
        endpoint: &EndpointRow,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
        by: &Actor,
    ) -> Result<u64, EndpointError> {
        // No `until`: up to now (a `since` still to come queues nothing).
        let until = until.unwrap_or_else(|| Utc::now().max(since));
        if until < since {
            return Err(EndpointError::Invalid("until: must not be before since".into()));
        }
        let queued = copy(self.bus, endpoint, Uuid::new_v4(), since, until)
            .await
            .map_err(|e| EndpointError::Unavailable(format!("the replay could not be queued ({e:#}); retry")))?;
        let mut tx = self.db.begin().await?;
        audit::record(&mut tx, by.entry(AuditAction::EndpointReplayed, endpoint)).await?;
        tx.commit().await?;
        tracing::info!(endpoint = %endpoint.id, queued, "replay queued");
        Ok(queued)
    }
}

/// Copy the endpoint's events of `[since, until)` onto its replay subject; returns how many.
async fn copy(
    bus: &Bus,
    endpoint: &EndpointRow,
    replay: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let wanted = wanted(endpoint);
    let filters = subjects(bus.prefix(), wanted.company, wanted.types.as_deref());
    let target = bus.replay_subject(endpoint.id);
    let mut queued = 0;
    for (name, filters) in [(bus.changes_stream(), filters.changes), (bus.milestones_stream(), filters.milestones)] {
        if filters.is_empty() {
            continue;
        }
        let stream = bus.js.get_stream(&name).await?;
        for filter in filters {
            let scan = Scan { bus, stream: &stream, name: &name, filter: &filter, target: &target, replay };
            queued += scan.run(offset(since), offset(until)).await?;
        }
    }
    Ok(queued)
}

/// One filter subject of one stream, read from a start time.
struct Scan<'a> {
    bus: &'a Bus,
    stream: &'a jetstream::stream::Stream,
    name: &'a str,
    filter: &'a str,
    target: &'a str,
    replay: Uuid,
}

impl Scan<'_> {
    async fn run(&self, since: time::OffsetDateTime, until: time::OffsetDateTime) -> anyhow::Result<u64> {
        let config = OrderedConfig {
            filter_subject: self.filter.to_string(),
            deliver_policy: DeliverPolicy::ByStartTime { start_time: since },
            ..Default::default()
        };
        let mut consumer = self.stream.create_consumer(config).await?;
        let mut left = consumer.info().await?.num_pending;
        if left == 0 {
            return Ok(0);
        }
        let mut messages = consumer.messages().await?;
        let (mut acks, mut queued) = (Vec::with_capacity(IN_FLIGHT), 0);
        while left > 0 {
            let msg = tokio::time::timeout(NEXT_WITHIN, messages.next())
                .await
                .map_err(|_| anyhow::anyhow!("reading {} stalled", self.filter))?
                .ok_or_else(|| anyhow::anyhow!("reading {} ended", self.filter))??;
            let info = msg.info().map_err(|e| anyhow::anyhow!("{e}"))?;
            left = info.pending;
            if info.published >= until {
                break;
            }
            let mut headers = HeaderMap::new();
            // A retried publish of the same copy is dropped by the stream's duplicate window.
            let id = format!("replay-{}-{}-{}", self.replay, self.name, info.stream_sequence);
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
            let ack = self.bus.js.publish_with_headers(self.target.to_string(), headers, msg.payload.clone()).await?;
            acks.push(ack);
            queued += 1;
            if acks.len() >= IN_FLIGHT {
                for ack in acks.drain(..) {
                    ack.await?;
                }
            }
        }
        for ack in acks {
            ack.await?;
        }
        Ok(queued)
    }
}
