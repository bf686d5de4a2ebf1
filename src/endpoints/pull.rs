//! One pull loop per consumer of an endpoint: its pull requests ([`super::fetch`]) ask ahead as
//! deep as the endpoint's pace allows ([`super::live::Pace`]), so the next messages are on their
//! way while the slots work; each message is taken into one of the endpoint's
//! `ENDPOINT_CONCURRENCY` slots as one frees. A slot is held for the POST only: logging the attempt
//! and settling the message follow outside it (bounded by [`Slots::held`]), so the next POST does
//! not wait for the attempts log's commit. A message that waited for a slot gets its ack wait
//! restarted (`AckKind::Progress`) before the attempt, so an attempt of a slow endpoint is not
//! redelivered elsewhere while it runs.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_nats::jetstream::AckKind;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    consumers::{self, Planned, Wanted},
    dispatcher::Dispatcher,
    fetch::Puller,
    live::{Live, micros},
};

/// A message that waited longer than this for a slot has its ack wait restarted.
const PROGRESS_AFTER: Duration = Duration::from_secs(1);

/// How long one pull request stays open (one left by a stopped loop is gone soon after); the
/// server's heartbeats tell a lost one.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
const PULL_HEARTBEAT: Duration = Duration::from_secs(2);

/// Messages taken but not settled yet (POSTing, or logging and settling), per slot: enough that
/// the slots do not wait for the attempts log's commits at full pace.
const HELD_PER_SLOT: usize = 16;

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
        let mut messages: Option<Puller> = None;
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
            let Some(puller) = messages.as_mut() else { continue };
            // Pull requests still open when the endpoint is stopped (disabled, changed, deleted)
            // are dropped: what they held is redelivered after the ack wait, to a task serving it.
            let depth = live.pace.depth(self.cfg.concurrency);
            let asked = Instant::now();
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = cancel.cancelled() => break,
                next = puller.next(depth) => next,
            };
            live.meters.waited_message.increment(micros(asked.elapsed()));
            let msg = match next {
                Ok(msg) => msg,
                Err(e) => {
                    tracing::warn!(endpoint = %live.row.id, error = format!("{e:#}"), "pulling deliveries failed; retrying");
                    messages = None;
                    pause(Duration::from_secs(1), &cancel, &stop).await;
                    continue;
                }
            };
            let arrived = Instant::now();
            let (held, slot) = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = cancel.cancelled() => break,
                p = slots.take(&live) => p,
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

    /// The consumer's puller (`None` while its stream does not exist).
    async fn open(&self, wanted: &Wanted, planned: &Planned) -> anyhow::Result<Option<Puller>> {
        let Some(consumer) = consumers::ensure(&self.bus, wanted, planned, self.cfg.timeout).await? else {
            return Ok(None);
        };
        let (js, client) = (self.bus.js.clone(), &self.bus.client);
        Ok(Some(Puller::open(consumer, js, client, PULL_EXPIRES, PULL_HEARTBEAT).await?))
    }
}

impl Slots {
    /// A place among the held messages, then a slot to POST in (the waits are metered).
    async fn take(&self, live: &Live) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let started = Instant::now();
        let held = self.held.clone().acquire_owned().await.expect("the semaphore is never closed");
        let placed = Instant::now();
        live.meters.waited_held.increment(micros(placed - started));
        let slot = self.posting.clone().acquire_owned().await.expect("the semaphore is never closed");
        live.meters.waited_slot.increment(micros(placed.elapsed()));
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
