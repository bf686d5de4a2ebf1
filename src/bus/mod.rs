//! NATS JetStream: subjects derived from the prefix, the streams ([`streams`]: listed once,
//! created idempotently), and publishing that waits for the server's acknowledgement.

use std::{sync::Arc, time::Duration};

use async_nats::{HeaderMap, Subject, connection::State, jetstream, subject::ToSubject};
use bytes::Bytes;
use uuid::Uuid;

use crate::domain::{ChangeType, milestones::MilestoneKind};

pub mod streams;

/// How long task ids (`webhook-id`s, idempotency keys, schedule slots) are remembered on the sync queue.
pub const SYNC_DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// How long the event streams (changes, milestones, endpoint replays, dead letters) keep a message.
pub const EVENT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The event streams' duplicate window: a message whose `Nats-Msg-Id` came within it is dropped.
pub const EVENT_DUPLICATE_WINDOW: Duration = Duration::from_secs(20 * 60);

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("NATS is not connected")]
    Disconnected,
    #[error("JetStream did not acknowledge the message: {0}")]
    NotAcknowledged(String),
}

/// A connected NATS client and the names it uses.
#[derive(Clone)]
pub struct Bus {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    prefix: String,
    stream_prefix: String,
    /// `<p>.sync.requests`: the first version's queue subject (still drained).
    requests: Subject,
    /// Room for the messages that batches ([`Bus::send_batch`]) have sent and not yet seen
    /// answered, [`BATCH_IN_FLIGHT`] in all, taken a window at a time.
    batch_room: Arc<tokio::sync::Semaphore>,
}

/// Messages one batch sends before it awaits their answers.
pub const BATCH_WINDOW: usize = 100;

/// Messages every batch of one client together may have sent unanswered. Below the JetStream
/// context's own bound (5,000 unanswered publishes, at which a send waits for an answer to be
/// awaited): a batch that sent part of its window and waited there for room held by other
/// batches' unawaited answers, while they waited the same way, would wait forever.
pub const BATCH_IN_FLIGHT: usize = 4_000;

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

pub const ACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Losing the server is worth a warning; each failed reconnect try is not (they come every few
/// seconds while it is away).
fn log_event(event: async_nats::Event) {
    use async_nats::Event;
    match event {
        Event::Connected => tracing::info!("connected to NATS"),
        Event::ClientError(e) => tracing::debug!(error = %e, "NATS client error"),
        Event::Draining | Event::Closed => tracing::info!(%event, "NATS connection"),
        Event::Disconnected | Event::LameDuckMode | Event::SlowConsumer(_) | Event::ServerError(_) => {
            tracing::warn!(%event, "NATS connection")
        }
    }
}

impl Bus {
    /// Connect to one or more servers (comma-separated), in the background while none answers.
    /// Reconnects forever afterwards.
    pub async fn connect(urls: &str, prefix: &str) -> anyhow::Result<Bus> {
        Bus::connect_with(urls, prefix, true).await
    }

    /// One try at the first connection (each listed server once), failing with why none
    /// answered; once connected, reconnects forever. Start-up calls this until its deadline.
    pub async fn connect_once(urls: &str, prefix: &str) -> anyhow::Result<Bus> {
        Bus::connect_with(urls, prefix, false).await
    }

    async fn connect_with(urls: &str, prefix: &str, in_background: bool) -> anyhow::Result<Bus> {
        let servers: Vec<async_nats::ServerAddr> =
            urls.split(',').map(|u| u.trim().parse()).collect::<Result<_, _>>()?;
        let mut options = async_nats::ConnectOptions::new()
            .name("employes-sync")
            .connection_timeout(Duration::from_secs(3))
            .event_callback(|event| async move { log_event(event) });
        if in_background {
            options = options.retry_on_initial_connect();
        }
        let client = options.connect(servers).await?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(ACK_TIMEOUT);
        Ok(Bus {
            client,
            js,
            prefix: prefix.to_string(),
            stream_prefix: prefix.to_uppercase().replace('-', "_"),
            requests: Subject::from(format!("{prefix}.sync.requests")),
            batch_room: Arc::new(tokio::sync::Semaphore::new(BATCH_IN_FLIGHT)),
        })
    }

    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<p>.sync.requests.<company>`: a company's queue tasks.
    pub fn requests_subject(&self, company: Uuid) -> String {
        let mut buf = Uuid::encode_buffer();
        format!("{}.{}", self.requests, company.hyphenated().encode_lower(&mut buf))
    }
    /// `<p>.sync.requests`: where the first version queued tasks (the stream still binds it,
    /// so a queue filled before an upgrade drains).
    pub fn v1_requests_subject(&self) -> Subject {
        self.requests.clone()
    }
    pub fn progress_subject(&self, session: Uuid) -> String {
        format!("{}.sync.progress.{session}", self.prefix)
    }
    /// `<p>.sync.progress.*`: every session's progress (what `GET /api/sync/activity` watches).
    pub fn all_progress_subject(&self) -> String {
        format!("{}.sync.progress.*", self.prefix)
    }
    /// `<p>.changes.<company>.<change_type>`.
    pub fn change_subject(&self, company: Uuid, t: ChangeType) -> String {
        format!("{}.changes.{company}.{}", self.prefix, t.as_str())
    }
    /// `<p>.milestones.<company>.<kind>`.
    pub fn milestone_subject(&self, company: Uuid, kind: MilestoneKind) -> String {
        let kind: &'static str = kind.into();
        format!("{}.milestones.{company}.{kind}", self.prefix)
    }
    /// `<p>.changes.<company>.employee_erased`.
    pub fn erased_subject(&self, company: Uuid) -> String {
        format!("{}.changes.{company}.employee_erased", self.prefix)
    }
    /// `<p>.sync.dead`: tasks given up on.
    pub fn dead_letter_subject(&self) -> String {
        format!("{}.sync.dead", self.prefix)
    }
    /// `<p>.control.companies` (core NATS): a company changed; every replica reloads.
    pub fn control_companies_subject(&self) -> String {
        format!("{}.control.companies", self.prefix)
    }
    /// `<p>.control.endpoints` (core NATS): an endpoint changed; every dispatcher reconciles.
    pub fn control_endpoints_subject(&self) -> String {
        format!("{}.control.endpoints", self.prefix)
    }
    /// The upper-cased prefix streams and consumers are named with.
    pub fn stream_prefix(&self) -> &str {
        &self.stream_prefix
    }
    /// `<p>.endpoints.replay.<endpoint>`.
    pub fn replay_subject(&self, endpoint: Uuid) -> String {
        format!("{}.endpoints.replay.{endpoint}", self.prefix)
    }
    pub fn consumer_name(&self) -> String {
        format!("{}_worker", self.stream_prefix)
    }

    /// Publish and wait until JetStream has stored it. `msg_id` deduplicates within the
    /// stream's window. Returns whether the server saw it as a duplicate.
    pub async fn publish_durable(
        &self,
        subject: impl ToSubject,
        msg_id: Option<&str>,
        payload: Bytes,
    ) -> Result<bool, BusError> {
        self.send_durable(subject, msg_id, payload).await?.stored().await
    }

    /// Send a message to JetStream without waiting for it to be stored: the answer waits in the
    /// returned [`Stored`]. Messages sent one after another are stored in that order, so a batch
    /// can be sent whole and its answers awaited after (one round trip instead of one each).
    pub async fn send_durable(
        &self,
        subject: impl ToSubject,
        msg_id: Option<&str>,
        payload: Bytes,
    ) -> Result<Stored, BusError> {
        if !self.is_connected() {
            return Err(BusError::Disconnected);
        }
        let mut headers = HeaderMap::new();
        if let Some(id) = msg_id {
            headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
        }
        let ack = self
            .js
            .publish_with_headers(subject, headers, payload)
            .await
            .map_err(|e| BusError::NotAcknowledged(e.to_string()))?;
        Ok(Stored(ack))
    }

    /// Send every message of `batch` (each made by `message`, all of them first), a window of
    /// [`BATCH_WINDOW`] at a time, then await JetStream's answers to the window in order: one round
    /// trip per window, not one per message. A window takes its room among [`BATCH_IN_FLIGHT`]
    /// whole before it sends, so concurrent batches never hold part of the context's bound while
    /// waiting for the rest. `on_stored` runs for each message as its answer comes, in order.
    /// The first failure to send or store ends the batch: the messages before it are stored,
    /// those after it in its window may be too (their `Nats-Msg-Id`s make a later send of them a
    /// duplicate). An error of `message` is returned at once, with nothing sent.
    pub async fn send_batch<'a, T, E>(
        &self,
        batch: &'a [T],
        message: impl Fn(&T) -> Result<Outgoing, E>,
        mut on_stored: impl AsyncFnMut(&T),
    ) -> Result<BatchSent<'a, T>, E> {
        let mut outgoing = batch.iter().map(message).collect::<Result<Vec<_>, E>>()?.into_iter();
        let mut stored = 0;
        let mut failed = None;
        for items in batch.chunks(BATCH_WINDOW) {
            // Never closed; a window is at most BATCH_WINDOW < BATCH_IN_FLIGHT messages.
            let _room = self.batch_room.acquire_many(items.len() as u32).await.expect("the batch room is never closed");
            let mut sent = Vec::with_capacity(items.len());
            for Outgoing { subject, msg_id, payload } in outgoing.by_ref().take(items.len()) {
                match self.send_durable(subject, Some(&msg_id), payload).await {
                    Ok(answer) => sent.push(answer),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            for (item, answer) in items.iter().zip(sent) {
                if let Err(err) = answer.stored().await {
                    failed = Some(err);
                    break;
                }
                on_stored(item).await;
                stored += 1;
            }
            if failed.is_some() {
                break;
            }
        }
        Ok(BatchSent { stored: &batch[..stored], failed })
    }

    /// Does the server answer (for `readyz`)?
    pub async fn ping(&self) -> bool {
        self.is_connected()
            && tokio::time::timeout(Duration::from_secs(2), self.client.flush()).await.is_ok_and(|r| r.is_ok())
    }
}

/// One message of a batch for [`Bus::send_batch`].
pub struct Outgoing {
    pub subject: String,
    /// `Nats-Msg-Id`: the event's id, so a repeat within the stream's window is dropped.
    pub msg_id: String,
    pub payload: Bytes,
}

/// How a batch sent by [`Bus::send_batch`] went.
pub struct BatchSent<'a, T> {
    /// The leading items whose messages JetStream stored, in order.
    pub stored: &'a [T],
    /// Why the batch ended before its last message was stored, if it did.
    pub failed: Option<BusError>,
}

/// JetStream's answer to a message sent by [`Bus::send_durable`].
#[must_use = "the message may not be stored: await `stored`"]
pub struct Stored(jetstream::context::PublishAckFuture);

impl Stored {
    /// Wait until JetStream has stored the message. Returns whether the server saw it as a
    /// duplicate. The context's own timeout (`ACK_TIMEOUT`) bounds the wait: no second timer.
    pub async fn stored(self) -> Result<bool, BusError> {
        let ack = self.0.await.map_err(|e| BusError::NotAcknowledged(e.to_string()))?;
        Ok(ack.duplicate)
    }
}
