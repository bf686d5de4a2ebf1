//! The durable JetStream consumer. [`Worker::handle`] carries out one queue task; the loop
//! around it pulls only when it has a free slot and acks only after the session's final
//! state is committed. Many companies' sessions run at once (`WORKER_CONCURRENCY`), each with
//! its own company's client; no company takes more than its fair share of them
//! ([`super::fairness`]); a task that cannot be carried out is given up as a dead letter.

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{
    self, AckKind,
    consumer::{AckPolicy, PullConsumer, pull},
};
use futures::StreamExt;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;

use super::{
    QueueTask, RunSession,
    dead_letter::{Cause, DeadLetter},
    fairness::{self, CompanySlots},
    issues, pipeline,
    stages::{Abort, Failure, StageCtx},
};
use crate::{
    bus::Bus,
    companies::Registry,
    config::WorkerConfig,
    db::{
        Db,
        sessions::{self, Claim, SessionRow},
    },
    domain::{IssueKind, SessionStatus},
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
    /// Its company already runs its share of sessions on this worker: redeliver after a moment.
    Deferred,
    /// Shutdown or a transient failure: the session is left for redelivery.
    Retry(String),
    /// A webhook event joined (or opened) this session, whose own task runs it: ack.
    Admitted(uuid::Uuid),
    /// Given up and published as a dead letter: terminate it.
    Dead(String),
}

/// What the worker's sessions share.
#[derive(Clone)]
pub struct WorkerCtx {
    pub db: Db,
    pub bus: Bus,
    pub companies: Registry,
    pub fetch_concurrency: usize,
    pub milestones: crate::config::MilestonesConfig,
    pub digest_key: std::sync::Arc<crate::domain::minimise::DigestKey>,
    pub cancel: CancellationToken,
}

#[derive(Clone)]
pub struct Worker {
    pub ctx: WorkerCtx,
    pub cfg: WorkerConfig,
    pub worker_id: String,
    slots: CompanySlots,
    /// Turns at a session's last phase (`WORKER_FINISH_CONCURRENCY`), shared by all its sessions.
    finishing: Arc<Semaphore>,
}

impl Worker {
    pub fn new(ctx: WorkerCtx, cfg: WorkerConfig) -> Worker {
        let finishing = Arc::new(Semaphore::new(cfg.finish_concurrency));
        let worker_id = format!("worker-{}", uuid::Uuid::new_v4());
        Worker { ctx, cfg, worker_id, slots: CompanySlots::default(), finishing }
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
        tracing::info!(worker_id = %self.worker_id, concurrency = self.cfg.concurrency, "worker started");
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
            Err(reason) => {
                let deliveries = msg.info().map_or(1, |i| i.delivered);
                self.give_up(&msg, DeadLetter::of(&msg, Cause::Unparseable, reason, deliveries)).await
            }
        };
        let ack = match &outcome {
            Outcome::Finished(_) | Outcome::AlreadyDone | Outcome::Admitted(_) => msg.double_ack().await,
            Outcome::Busy => msg.ack_with(AckKind::Nak(Some(self.cfg.heartbeat * 2))).await,
            Outcome::Deferred => msg.ack_with(AckKind::Nak(Some(fairness::DEFER))).await,
            Outcome::Retry(reason) => {
                tracing::warn!(reason, "sync task left for redelivery");
                msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await
            }
            Outcome::Dead(_) => msg.ack_with(AckKind::Term).await,
        };
        if let Err(e) = ack {
            tracing::warn!(error = %e, ?outcome, "could not settle a sync task; it will be redelivered");
        }
    }

    /// Publish a dead letter; the message is terminated once it is stored (else redelivered).
    pub(super) async fn give_up(&self, msg: &jetstream::Message, letter: DeadLetter) -> Outcome {
        match letter.publish(&self.ctx.bus, msg).await {
            Ok(()) => Outcome::Dead(letter.reason),
            Err(e) => Outcome::Retry(format!("could not record a dead letter: {e}")),
        }
    }

    /// Carry out one task.
    pub async fn handle(&self, msg: &jetstream::Message, task: &QueueTask) -> Outcome {
        match task {
            QueueTask::AdmitWebhook(event) => {
                let first_delivery = msg.info().map_or(true, |i| i.delivered <= 1);
                self.admit(msg, event, first_delivery).await
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
            Ok(None) => {
                let reason = "its session does not exist (its company may have been deleted)";
                let letter =
                    DeadLetter { session_id: Some(run.session_id), company_id: run.company_id, ..dead(msg, reason) };
                return self.give_up(msg, letter).await;
            }
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        };
        if session.is_final() {
            return Outcome::AlreadyDone;
        }
        // The company's share of this worker; claimed only within it. Nothing undelivered behind
        // this task: it may use idle capacity beyond the share.
        let nothing_waiting = msg.info().is_ok_and(|i| i.pending == 0);
        let Some(_slot) = self.slots.take(session.company_id, nothing_waiting, self.cfg.concurrency) else {
            return Outcome::Deferred;
        };
        let opener = session.request_id == run.request_id;
        let cap = self.cfg.max_attempts;
        let claimed = match sessions::claim(db, session.id, &self.worker_id, self.cfg.takeover_after, cap).await {
            Ok(Claim::Held(s)) => s,
            Ok(Claim::Exhausted(s)) => return self.exhausted(msg, &s).await,
            // The task that opened the session keeps it alive until it ends; joiners can go.
            Ok(Claim::Unavailable) if opener => return Outcome::Busy,
            Ok(Claim::Unavailable) => return Outcome::AlreadyDone,
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        };
        let Some(ctx) = self.stage_ctx(&claimed).await else {
            let failure = Failure::new(IssueKind::AuthFailed, "no Employes API key is set for this company");
            return self.end(&claimed, SessionStatus::Failed, Some(&failure)).await;
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
            r = pipeline::run(&ctx, &claimed) => r,
            _ = heartbeat => unreachable!("the heartbeat never ends"),
        };
        match result {
            Ok(status) => Outcome::Finished(status),
            Err(Abort::Fatal(failure)) => Outcome::Retry(failure.reason),
            Err(e) => {
                // Hand the session back so the redelivery can resume it at once.
                let _ = sessions::release(db, claimed.id, &self.worker_id).await;
                Outcome::Retry(e.to_string())
            }
        }
    }

    /// The stages' context for a session of its company; `None` when the company has no key.
    async fn stage_ctx(&self, session: &SessionRow) -> Option<StageCtx> {
        let registry = &self.ctx.companies;
        let mut company = registry.get(session.company_id);
        if company.is_none() {
            // Added on another replica a moment ago: this one has not reloaded yet.
            if let Err(e) = registry.reload().await {
                tracing::warn!(error = format!("{e:#}"), "reloading companies failed");
            }
            company = registry.get(session.company_id);
        }
        let company = company?;
        Some(StageCtx {
            db: self.ctx.db.clone(),
            bus: self.ctx.bus.clone(),
            company: company.id(),
            client: company.client.clone()?,
            fetch_concurrency: self.ctx.fetch_concurrency,
            history_refresh_after: company.history_refresh_after,
            milestones: self.ctx.milestones.clone(),
            digest_key: self.ctx.digest_key.clone(),
            watch_interval: company.watch_interval,
            finishing: self.finishing.clone(),
            cancel: self.ctx.cancel.clone(),
        })
    }

    /// A session claimed once too often: a dead letter, then the session fails.
    async fn exhausted(&self, msg: &jetstream::Message, s: &SessionRow) -> Outcome {
        let reason = format!("gave up after {} attempts", s.attempts - 1);
        let letter = DeadLetter {
            session_id: Some(s.id),
            company_id: Some(s.company_id),
            ..DeadLetter::of(msg, Cause::AttemptsExhausted, reason.clone(), i64::from(s.attempts - 1))
        };
        if let Err(e) = letter.publish(&self.ctx.bus, msg).await {
            return Outcome::Retry(format!("could not record a dead letter: {e}"));
        }
        self.end(s, SessionStatus::Failed, Some(&Failure::new(IssueKind::SyncFailed, reason))).await
    }

    async fn end(&self, s: &SessionRow, status: SessionStatus, failure: Option<&Failure>) -> Outcome {
        match pipeline::finish(&self.ctx.db, &self.ctx.bus, s, status, failure).await {
            Ok(status) => Outcome::Finished(status),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

/// A dead letter of a task that points at nothing.
pub(super) fn dead(msg: &jetstream::Message, reason: &str) -> DeadLetter {
    DeadLetter::of(msg, Cause::Unknown, reason, msg.info().map_or(1, |i| i.delivered))
}

async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}

/// Periodically fail sessions nobody is working on any more (and raise their companies' issues).
pub async fn run_reaper(db: Db, cfg: WorkerConfig, cancel: CancellationToken) {
    let mut tick = tokio::time::interval((cfg.reap_after / 4).max(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sessions::reap(&db, cfg.reap_after).await {
            Ok(ids) if !ids.is_empty() => {
                tracing::error!(count = ids.len(), "failed sessions whose worker went silent (WORKER_REAP_AFTER)");
                for id in ids {
                    if let Ok(Some(row)) = sessions::get(&db, id).await {
                        issues::after_session(&db, &row, None).await;
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "reaper could not run"),
        }
    }
}
