//! One pull loop per consumer of an endpoint: a long-lived pull stream (JetStream re-requests
//! half a batch ahead, so the next messages are on their way while the slots work), each message
//! taken into one of the endpoint's `ENDPOINT_CONCURRENCY` slots as one frees. A slot is held for
//! the POST only: logging the attempt and settling the message follow outside it (bounded by
//! [`Slots::held`]), so the next POST does not wait for the attempts log's commit. A message that
//! waited for a slot gets its ack wait restarted (`AckKind::Progress`) before the attempt, so an
//! attempt of a slow endpoint is not redelivered elsewhere while it runs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_nats::jetstream::{AckKind, consumer::pull};
use futures::StreamExt as _;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
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

/// Messages taken but not settled yet (POSTing, or logging and settling), per slot.
const HELD_PER_SLOT: usize = 4;

/// An endpoint's slots on one replica, shared by its pull loops.
#[derive(Clone)]
pub struct Slots {
    /// POSTs in flight: `ENDPOINT_CONCURRENCY`.
    pub posting: Arc<Semaphore>,
    /// Messages taken and not settled: [`HELD_PER_SLOT`] × `ENDPOINT_CONCURRENCY`.
    pub held: Arc<Semaphore>,
}

impl Slots {
    pub fn new(concurrency: usize) -> Slots {
        Slots {
            posting: Arc::new(Semaphore::new(concurrency)),
            held: Arc::new(Semaphore::new(concurrency * HELD_PER_SLOT)),
        }
    }
}

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
        slots: Slots,
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
            let (held, slot) = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = cancel.cancelled() => break,
                p = slots.take() => p,
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
                    this.handle(&live, msg, slot).await;
                }
                drop(held);
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

impl Slots {
    /// A place among the held messages, then a slot to POST in.
    async fn take(&self) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let held = self.held.clone().acquire_owned().await.expect("the semaphore is never closed");
        let slot = self.posting.clone().acquire_owned().await.expect("the semaphore is never closed");
        (held, slot)
    }
}

pub(super) async fn pause(d: Duration, cancel: &CancellationToken, stop: &CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}
