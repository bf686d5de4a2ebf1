//! One pull loop per consumer of an endpoint: a long-lived pull stream (JetStream re-requests
//! half a batch ahead, so the next messages are on their way while the slots work), each message
//! taken into one of the endpoint's `ENDPOINT_CONCURRENCY` slots as one frees. A message that
//! waited for a slot gets its ack wait restarted (`AckKind::Progress`) before the attempt, so an
//! attempt of a slow endpoint is not redelivered elsewhere while it runs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_nats::jetstream::{AckKind, consumer::pull};
use futures::StreamExt as _;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::{
    consumers::{self, Planned, Wanted},
    dispatcher::Dispatcher,
    live::Live,
};

/// A message that waited longer than this for a slot has its ack wait restarted.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// How long one pull request stays open (one left by a stopped loop is gone soon after); the
/// server's heartbeats tell a lost one.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// Messages per pull request: half the slots, so a consumer holds at most about as many messages
/// waiting for a slot as there are slots (each waits at most one attempt for its slot).
pub fn batch(concurrency: usize) -> usize {
    (concurrency / 2).max(1)
}

impl Dispatcher {
    pub(super) async fn pull(
        self,
        live: Arc<Live>,
        wanted: Wanted,
        planned: Planned,
        slots: Arc<Semaphore>,
        cancel: CancellationToken,
        stop: CancellationToken,
    ) {
        let mut messages: Option<pull::Stream> = None;
        let mut in_flight = JoinSet::new();
        let quit = || cancel.is_cancelled() || stop.is_cancelled();
        while !quit() {
            while in_flight.try_join_next().is_some() {}
            if messages.is_none() {
                match self.open(&wanted, &planned).await {
                    Ok(Some(stream)) => messages = Some(stream),
                    // Nothing from this stream (or it does not exist yet): look again later.
                    Ok(None) => {
                        pause(Duration::from_secs(10), &cancel, &stop).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(endpoint = %live.row.id, error = %e, "cannot reach an endpoint's consumer; retrying");
                        pause(Duration::from_secs(1), &cancel, &stop).await;
                        continue;
                    }
                }
            }
            let Some(stream) = messages.as_mut() else { continue };
            // A stream still open when the endpoint is stopped (disabled, changed, deleted) is
            // dropped: what it held is redelivered after the ack wait, to a task still serving it.
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = cancel.cancelled() => break,
                next = stream.next() => next,
            };
            let msg = match next {
                Some(Ok(msg)) => msg,
                Some(Err(e)) => {
                    tracing::warn!(endpoint = %live.row.id, error = %e, "pulling deliveries failed; retrying");
                    messages = None;
                    pause(Duration::from_secs(1), &cancel, &stop).await;
                    continue;
                }
                None => {
                    messages = None;
                    continue;
                }
            };
            let arrived = Instant::now();
            let permit = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = cancel.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let waited = arrived.elapsed();
            let (this, live) = (self.clone(), live.clone());
            in_flight.spawn(async move {
                if live.stop.is_cancelled() {
                    // Stopped meanwhile: not sent; back to the consumer for whoever serves it.
                    let _ = msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
                } else {
                    if waited > PROGRESS_AFTER {
                        let _ = msg.ack_with(AckKind::Progress).await;
                    }
                    this.handle(&live, msg).await;
                }
                drop(permit);
            });
        }
        // Deliveries already POSTed finish and settle; the rest stay unacked for redelivery. The
        // acks are sent before the loop ends (they are not confirmed: see `settle`).
        while in_flight.join_next().await.is_some() {}
        let _ = self.bus.client.flush().await;
    }

    /// The consumer's pull stream (`None` while its stream does not exist).
    async fn open(&self, wanted: &Wanted, planned: &Planned) -> anyhow::Result<Option<pull::Stream>> {
        let Some(consumer) = consumers::ensure(&self.bus, wanted, planned, self.cfg.timeout).await? else {
            return Ok(None);
        };
        let stream = consumer
            .stream()
            .max_messages_per_batch(batch(self.cfg.concurrency))
            .expires(PULL_EXPIRES)
            .heartbeat(PULL_HEARTBEAT)
            .messages()
            .await?;
        Ok(Some(stream))
    }
}

pub(super) async fn pause(d: Duration, cancel: &CancellationToken, stop: &CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}
