//! The durable JetStream consumer. [`Worker::handle`] carries out one queue task; the loop
//! around it pulls only when it has a free slot and acks only after the session's final
//! state is committed.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, PullConsumer, pull},
};
use futures::StreamExt;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::{
    AdmitWebhook, QueueTask, RunSession, SyncTrigger, pipeline,
    stages::{Abort, StageCtx},
    trigger,
};
use crate::{
    config::WorkerConfig,
    db::{
        sessions::{self, Claim},
        webhooks::{self, Admission, Delivery},
    },
    domain::{SessionStatus, Source, WebhookOutcome},
};

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The session ended here with this status: ack.
    Finished(SessionStatus),
    /// The session had already ended (or another delivery carries it): ack.
    AlreadyDone,
    /// Another worker is running the session and this is the task that opened it: redeliver later.
    Busy,
    /// Shutdown or a transient failure: the session is left for redelivery.
    Retry(String),
    /// A webhook event joined (or opened) this session, whose own task runs it: ack.
    Admitted(uuid::Uuid),
    /// Unusable message: terminate it.
    Poison(String),
}

#[derive(Clone)]
pub struct Worker {
    pub ctx: StageCtx,
    pub cfg: WorkerConfig,
    pub worker_id: String,
}

impl Worker {
    pub fn new(ctx: StageCtx, cfg: WorkerConfig) -> Worker {
        Worker { ctx, cfg, worker_id: format!("worker-{}", uuid::Uuid::new_v4()) }
    }

    async fn consumer(&self) -> anyhow::Result<PullConsumer> {
        let bus = &self.ctx.bus;
        let stream = bus.js.get_stream(bus.sync_stream()).await?;
        let name = bus.consumer_name();
        Ok(stream
            .get_or_create_consumer(
                &name,
                pull::Config {
                    durable_name: Some(name.clone()),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: self.cfg.ack_wait,
                    max_ack_pending: 10_000,
                    ..Default::default()
                },
            )
            .await?)
    }

    /// Pull and handle messages until `cancel` fires; then wait for in-flight work.
    /// In-flight handlers belong to this future: dropping it (a crash) drops them unacked.
    pub async fn run(self, cancel: CancellationToken) -> anyhow::Result<()> {
        let slots = Arc::new(Semaphore::new(self.cfg.concurrency));
        let mut in_flight = JoinSet::new();
        let mut consumer = None;
        tracing::info!(worker_id = %self.worker_id, "worker started");
        while !cancel.is_cancelled() {
            while in_flight.try_join_next().is_some() {}
            let permit = tokio::select! {
                _ = cancel.cancelled() => break,
                p = slots.clone().acquire_owned() => p?,
            };
            if consumer.is_none() {
                match self.consumer().await {
                    Ok(c) => consumer = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot reach the sync consumer; retrying");
                        sleep_or_cancel(Duration::from_secs(1), &cancel).await;
                        continue;
                    }
                }
            }
            let Some(c) = consumer.as_ref() else { continue };
            let batch = c.batch().max_messages(1).expires(Duration::from_secs(2)).messages().await;
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "pulling sync requests failed; retrying");
                    consumer = None;
                    sleep_or_cancel(Duration::from_secs(1), &cancel).await;
                    continue;
                }
            };
            let next = tokio::select! {
                _ = cancel.cancelled() => break,
                m = batch.next() => m,
            };
            match next {
                Some(Ok(msg)) => {
                    let task = QueueTask::parse(&msg.payload);
                    // Admissions run one at a time, in queue order, so a burst of webhooks joins
                    // one queued session instead of racing to create several.
                    if matches!(task, Ok(QueueTask::AdmitWebhook(_))) {
                        self.process(msg, task).await;
                        drop(permit);
                    } else {
                        let worker = self.clone();
                        in_flight.spawn(async move {
                            worker.process(msg, task).await;
                            drop(permit);
                        });
                    }
                }
                Some(Err(e)) => tracing::debug!(error = %e, "no sync task this round"),
                None => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        tracing::info!(worker_id = %self.worker_id, "worker stopped");
        Ok(())
    }

    /// Handle one message and settle it with the server. `task` is its payload as
    /// [`QueueTask::parse`] read it (the loop reads it first, to decide whether to admit inline
    /// or spawn).
    pub async fn process(&self, msg: jetstream::Message, task: Result<QueueTask, String>) {
        let outcome = match task {
            Ok(task) => self.handle(&msg, &task).await,
            Err(reason) => Outcome::Poison(reason),
        };
        let ack = match &outcome {
            Outcome::Finished(_) | Outcome::AlreadyDone | Outcome::Admitted(_) => msg.double_ack().await,
            Outcome::Busy => msg.ack_with(AckKind::Nak(Some(self.cfg.heartbeat * 2))).await,
            Outcome::Retry(reason) => {
                tracing::warn!(reason, "sync task left for redelivery");
                msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await
            }
            Outcome::Poison(reason) => {
                tracing::error!(reason, "terminating an unusable sync task");
                msg.ack_with(AckKind::Term).await
            }
        };
        if let Err(e) = ack {
            tracing::warn!(error = %e, ?outcome, "could not settle a sync task; it will be redelivered");
        }
    }

    /// Carry out one task.
    pub async fn handle(&self, msg: &jetstream::Message, task: &QueueTask) -> Outcome {
        match task {
            QueueTask::AdmitWebhook(event) => {
                let first_delivery = msg.info().map_or(true, |i| i.delivered <= 1);
                self.admit(event, first_delivery).await
            }
            QueueTask::RunSession(run) => self.run_session(msg, run).await,
        }
    }

    /// Run (or resume) the session a task points to.
    #[tracing::instrument(skip_all, fields(session_id = %run.session_id))]
    pub async fn run_session(&self, msg: &jetstream::Message, run: &RunSession) -> Outcome {
        let db = &self.ctx.db;
        let session = match sessions::get(db, run.session_id).await {
            Ok(Some(s)) => s,
            Ok(None) => return Outcome::Poison(format!("unknown session {}", run.session_id)),
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        };
        if session.is_final() {
            return Outcome::AlreadyDone;
        }
        let opener = session.request_id == run.request_id;
        let cap = self.cfg.max_attempts;
        let claimed = match sessions::claim(db, session.id, &self.worker_id, self.cfg.takeover_after, cap).await {
            Ok(Claim::Held(s)) => s,
            Ok(Claim::Exhausted(s)) => {
                let reason = format!("gave up after {} attempts", s.attempts - 1);
                return match pipeline::finish(&self.ctx, &s, SessionStatus::Failed, Some(&reason)).await {
                    Ok(status) => Outcome::Finished(status),
                    Err(e) => Outcome::Retry(e.to_string()),
                };
            }
            // The task that opened the session keeps it alive until it ends; joiners can go.
            Ok(Claim::Unavailable) if opener => return Outcome::Busy,
            Ok(Claim::Unavailable) => return Outcome::AlreadyDone,
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        };
        // The heartbeat is a future of its own, polled alongside the work: awaited in a
        // `select!` arm it would stop polling the work, and a heartbeat waiting for the session
        // row that the work's open transaction holds would then wait forever.
        let heartbeat = async {
            let mut beat = tokio::time::interval(self.cfg.heartbeat);
            beat.tick().await;
            loop {
                beat.tick().await;
                let _ = msg.ack_with(AckKind::Progress).await;
                if let Err(e) = sessions::heartbeat(db, claimed.id, &self.worker_id).await {
                    tracing::warn!(error = %e, "heartbeat failed");
                }
            }
        };
        let result = tokio::select! {
            r = pipeline::run(&self.ctx, &claimed) => r,
            _ = heartbeat => unreachable!("the heartbeat never ends"),
        };
        match result {
            Ok(status) => Outcome::Finished(status),
            Err(Abort::Fatal(reason)) => Outcome::Retry(reason),
            Err(e) => {
                // Hand the session back so the redelivery can resume it at once.
                let _ = sessions::release(db, claimed.id, &self.worker_id).await;
                Outcome::Retry(e.to_string())
            }
        }
    }
}

impl Worker {
    /// Admit a webhook event that intake queued without touching the database: record the
    /// delivery, join a queued session or open one (and queue its task), then link the two. A
    /// redelivery after a crash in between admits it again; a repeat of an admitted webhook id
    /// (after the stream's duplicate window) is recorded and dropped.
    #[tracing::instrument(skip_all, fields(event_type = %event.event_type))]
    pub async fn admit(&self, event: &AdmitWebhook, first_delivery: bool) -> Outcome {
        let db = &self.ctx.db;
        let delivery = |outcome| Delivery {
            webhook_id: Some(&event.webhook_id),
            event_type: Some(&event.event_type),
            employee_id: event.employee_ids.as_ref().and_then(|ids| ids.first().copied()),
            ..Delivery::new(outcome)
        };
        match webhooks::begin_admission(db, &delivery(WebhookOutcome::Accepted)).await {
            Ok(Admission::Open) => {}
            Ok(Admission::Done(session)) => {
                if first_delivery {
                    let duplicate = WebhookOutcome::Duplicate;
                    metrics::counter!("employes_sync_webhook_deliveries_total", "outcome" => duplicate.as_str())
                        .increment(1);
                    if let Err(e) = webhooks::record(db, &delivery(duplicate)).await {
                        tracing::warn!(error = %e, "could not record a duplicate webhook");
                    }
                }
                tracing::info!(session_id = ?session, "webhook already admitted");
                return Outcome::AlreadyDone;
            }
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        }
        let trigger = SyncTrigger {
            source: Source::Webhook,
            triggered_by: event.triggered_by.clone(),
            employee_ids: event.employee_ids.clone(),
            idempotency_key: None,
            dedup_id: None,
        };
        let opened = match trigger::open(db, self.cfg.coalesce_window, &trigger).await {
            Ok(opened) => opened,
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        };
        if let Err(e) = trigger::enqueue(db, &self.ctx.bus, &trigger, &opened).await {
            return Outcome::Retry(e.to_string());
        }
        let session = opened.session().id;
        if let Err(e) = webhooks::link_session(db, &event.webhook_id, session).await {
            return Outcome::Retry(format!("database: {e}"));
        }
        Outcome::Admitted(session)
    }
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

/// Periodically fail sessions nobody is working on any more.
pub async fn run_reaper(db: crate::db::Db, cfg: WorkerConfig, cancel: CancellationToken) {
    let mut tick = tokio::time::interval((cfg.reap_after / 4).max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sessions::reap(&db, cfg.reap_after).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::error!(count = ids.len(), "failed sessions whose worker went silent (WORKER_REAP_AFTER)")
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "reaper could not run"),
        }
    }
}
