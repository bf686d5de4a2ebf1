//! Delivery on every replica (worker role): one task per enabled endpoint pulls from the
//! endpoint's durable consumers ([`super::consumers`]), POSTs each event ([`super::deliver`]) and
//! settles it after the attempt is logged — ack after a 2xx, a delayed NAK on the retry schedule
//! (or the receiver's `Retry-After`), terminated after the last attempt. Replicas pull from the
//! same consumers, so they share the work; an event a killed replica held is redelivered after
//! the ack wait. A `410 Gone` disables the endpoint at once, failing for `ENDPOINT_DISABLE_AFTER`
//! disables it too (and opens the company's `endpoint_disabled` issue).

use std::{collections::HashMap, sync::Arc, time::Duration};

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::{sync::Semaphore, task::JoinSet};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    announce,
    consumers::{self, Planned, Wanted},
    deliver::{self, Target},
    retry::{Verdict, verdict},
    secrets::open_keys,
};
use crate::{
    bus::Bus,
    companies::SecretsKey,
    config::EndpointConfig,
    db::{
        Db,
        endpoints::{self, EndpointRow, NewAttempt},
        issues,
    },
    domain::{AttemptStatus, IssueKind},
    webhook_signature::WebhookKey,
};

/// How often every replica compares the endpoints it serves with the database (besides at every
/// announcement of a change).
pub const RECONCILE_EVERY: Duration = Duration::from_secs(10);

/// What every endpoint task shares.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub bus: Bus,
    pub secrets: Option<SecretsKey>,
    pub cfg: Arc<EndpointConfig>,
    pub client: reqwest::Client,
}

/// One endpoint as its task serves it.
struct Live {
    row: EndpointRow,
    url: reqwest::Url,
    /// The current key, then the previous one with the end of its overlap.
    current: WebhookKey,
    previous: Option<(WebhookKey, DateTime<Utc>)>,
    /// Fires when the endpoint is disabled or changed: its loops stop pulling.
    stop: CancellationToken,
}

impl Live {
    fn keys(&self, now: DateTime<Utc>) -> Vec<WebhookKey> {
        let mut keys = vec![self.current.clone()];
        keys.extend(self.previous.iter().filter(|(_, until)| *until > now).map(|(k, _)| k.clone()));
        keys
    }
}

/// An endpoint a task serves: as of which change, how to stop it, and the task.
struct Served {
    updated: DateTime<Utc>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// The next announcement (never, when there is no subscription).
async fn next_change(changes: &mut Option<async_nats::Subscriber>) -> Option<async_nats::Message> {
    match changes {
        Some(sub) => sub.next().await,
        None => std::future::pending().await,
    }
}

/// The head of an event: what delivery needs of it (the body is sent as it was published).
#[derive(serde::Deserialize)]
struct Head {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
}

impl Dispatcher {
    /// Serve every enabled endpoint until `cancel` fires; in-flight deliveries are left unacked
    /// (redelivered) when it does. The endpoints served follow the database: looked at again on
    /// every announcement on `<p>.control.endpoints` and every [`RECONCILE_EVERY`].
    pub async fn run(self, cancel: CancellationToken) {
        let mut served: HashMap<Uuid, Served> = HashMap::new();
        let mut changes = announce::subscribe(&self.bus).await;
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        let mut rounds: u64 = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
                Some(_) = next_change(&mut changes) => {}
            }
            let rows = match endpoints::all(&self.db).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the endpoints; retrying");
                    continue;
                }
            };
            self.reconcile(&rows, &mut served, &cancel).await;
            metrics::gauge!("employes_sync_endpoints_disabled").set(rows.iter().filter(|r| !r.enabled).count() as f64);
            rounds += 1;
            if rounds % 5 == 1 {
                for row in &rows {
                    let pending = consumers::pending(&self.bus, &wanted(row)).await;
                    metrics::gauge!("employes_sync_endpoint_pending", "endpoint" => row.id.to_string())
                        .set(pending as f64);
                }
            }
        }
        for served in served.into_values() {
            served.stop.cancel();
            let _ = served.task.await;
        }
    }

    /// Stop serving endpoints that were disabled, changed or deleted, and start serving the enabled
    /// ones not served yet. A deleted endpoint's consumers go once its task has stopped.
    async fn reconcile(&self, rows: &[EndpointRow], served: &mut HashMap<Uuid, Served>, cancel: &CancellationToken) {
        let enabled: HashMap<Uuid, &EndpointRow> = rows.iter().filter(|r| r.enabled).map(|r| (r.id, r)).collect();
        let stale: Vec<Uuid> = served
            .iter()
            .filter(|(id, s)| {
                s.stop.is_cancelled()
                    || s.task.is_finished()
                    || enabled.get(*id).is_none_or(|r| r.updated_at != s.updated)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            let Some(old) = served.remove(&id) else { continue };
            old.stop.cancel();
            if !rows.iter().any(|r| r.id == id) {
                let bus = self.bus.clone();
                tokio::spawn(async move {
                    let _ = old.task.await;
                    consumers::prune(&bus, id, &[]).await;
                });
            }
        }
        for (id, row) in enabled {
            if served.contains_key(&id) {
                continue;
            }
            match self.live(row).await {
                Ok(live) => {
                    let stop = live.stop.clone();
                    let task = tokio::spawn(self.clone().serve(Arc::new(live), cancel.clone(), stop.clone()));
                    served.insert(id, Served { updated: row.updated_at, stop, task });
                }
                Err(e) => tracing::error!(endpoint = %id, error = format!("{e:#}"), "cannot serve an endpoint"),
            }
        }
    }

    async fn live(&self, row: &EndpointRow) -> anyhow::Result<Live> {
        let url = reqwest::Url::parse(&row.url)?;
        let sealed = endpoints::secrets(&self.db, row.id).await?.ok_or_else(|| anyhow::anyhow!("endpoint is gone"))?;
        let (current, previous) = open_keys(self.secrets.as_ref(), row.id, &sealed)?;
        Ok(Live { row: row.clone(), url, current, previous, stop: CancellationToken::new() })
    }

    /// One endpoint: a pull loop per consumer, sharing `ENDPOINT_CONCURRENCY` slots.
    async fn serve(self, live: Arc<Live>, cancel: CancellationToken, stop: CancellationToken) {
        let wanted = wanted(&live.row);
        let plan = wanted.plan(&self.bus);
        consumers::prune(&self.bus, live.row.id, &plan).await;
        let slots = Arc::new(Semaphore::new(self.cfg.concurrency));
        let mut loops = JoinSet::new();
        for planned in plan {
            let (this, live, slots, wanted) = (self.clone(), live.clone(), slots.clone(), wanted.clone());
            let (cancel, stop) = (cancel.clone(), stop.clone());
            loops.spawn(async move { this.pull(live, wanted, planned, slots, cancel, stop).await });
        }
        while loops.join_next().await.is_some() {}
    }

    async fn pull(
        self,
        live: Arc<Live>,
        wanted: Wanted,
        planned: Planned,
        slots: Arc<Semaphore>,
        cancel: CancellationToken,
        stop: CancellationToken,
    ) {
        let mut consumer: Option<PullConsumer> = None;
        let mut in_flight = JoinSet::new();
        let quit = || cancel.is_cancelled() || stop.is_cancelled();
        while !quit() {
            while in_flight.try_join_next().is_some() {}
            if consumer.is_none() {
                match consumers::ensure(&self.bus, &wanted, &planned, self.cfg.timeout).await {
                    Ok(Some(c)) => consumer = Some(c),
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
            let Some(c) = consumer.as_ref() else { continue };
            let first = tokio::select! {
                _ = cancel.cancelled() => break,
                _ = stop.cancelled() => break,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let wanted_now = 1 + slots.available_permits();
            let batch = c.batch().max_messages(wanted_now).expires(Duration::from_secs(1)).messages().await;
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(endpoint = %live.row.id, error = %e, "pulling deliveries failed; retrying");
                    consumer = None;
                    pause(Duration::from_secs(1), &cancel, &stop).await;
                    continue;
                }
            };
            let mut permit = Some(first);
            // A pull still open when the endpoint is stopped (disabled, changed, deleted) is left:
            // what it would bring is redelivered after the ack wait, to a task still serving it.
            while let Some(next) = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                _ = cancel.cancelled() => None,
                next = batch.next() => next,
            } {
                let Ok(msg) = next else { break };
                let permit = match permit.take() {
                    Some(p) => p,
                    None => slots.clone().acquire_owned().await.expect("the semaphore is never closed"),
                };
                let (this, live) = (self.clone(), live.clone());
                in_flight.spawn(async move {
                    if live.stop.is_cancelled() {
                        // Stopped meanwhile: not sent; back to the consumer for whoever serves it.
                        let _ = msg.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
                    } else {
                        this.handle(&live, msg).await;
                    }
                    drop(permit);
                });
            }
        }
        // Deliveries already POSTed finish and settle; the rest stay unacked for redelivery.
        while in_flight.join_next().await.is_some() {}
    }

    /// Deliver one event and settle it.
    #[tracing::instrument(skip_all, fields(endpoint = %live.row.id))]
    async fn handle(&self, live: &Live, msg: jetstream::Message) {
        let attempt = msg.info().map_or(1, |i| i.delivered.max(1) as u32);
        let Ok(head) = serde_json::from_slice::<Head>(&msg.payload) else {
            tracing::warn!(subject = %msg.subject, "a message that is not an event; dropped");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let event_type = head.event_type.strip_prefix("nl.employes.").unwrap_or(&head.event_type).to_string();
        let now = Utc::now();
        let keys = live.keys(now);
        let target = Target { url: &live.url, keys: &keys, allow_private: self.cfg.allow_private_networks };
        let done = deliver::attempt(&self.client, &target, &head.id, msg.payload.clone()).await;
        let endpoint = live.row.id.to_string();
        metrics::histogram!("employes_sync_endpoint_attempt_seconds", "endpoint" => endpoint.clone())
            .record(done.took.as_secs_f64());
        let verdict = verdict(&self.cfg.retry_schedule, attempt, &done.response);
        let (status, outcome, next) = match verdict {
            Verdict::Delivered => (AttemptStatus::Succeeded, "delivered", None),
            Verdict::Retry(after) => (AttemptStatus::Pending, "retried", Some(after)),
            Verdict::GiveUp => (AttemptStatus::Failed, "failed", None),
            Verdict::Gone => (AttemptStatus::Failed, "gone", None),
        };
        metrics::counter!("employes_sync_endpoint_deliveries_total", "endpoint" => endpoint, "outcome" => outcome)
            .increment(1);
        let error = match verdict {
            Verdict::Gone => Some("HTTP 410 Gone: the endpoint is disabled".to_string()),
            Verdict::GiveUp => done.error.as_ref().map(|e| format!("{e}; no retry left")),
            _ => done.error.clone(),
        };
        let next_attempt_at = next.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| now + d);
        let Ok(event_id) = head.id.parse::<Uuid>() else {
            tracing::warn!("an event whose id is not a UUID; dropped");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let logged = endpoints::record_attempt(
            &self.db,
            &NewAttempt {
                endpoint_id: live.row.id,
                event_id,
                event_type: &event_type,
                attempt: attempt as i32,
                status,
                response_status: done.status.map(i32::from),
                error: error.as_deref(),
                next_attempt_at,
            },
        )
        .await;
        if let Err(e) = logged {
            tracing::warn!(error = %e, "could not log a delivery attempt");
        }
        let settled = match verdict {
            Verdict::Delivered => {
                if let Err(e) = endpoints::succeeded(&self.db, live.row.id).await {
                    tracing::warn!(error = %e, "could not mark an endpoint healthy");
                }
                msg.double_ack().await
            }
            Verdict::Retry(after) => {
                self.failing(live).await;
                msg.ack_with(AckKind::Nak(Some(after))).await
            }
            Verdict::GiveUp => {
                self.failing(live).await;
                msg.ack_with(AckKind::Term).await
            }
            Verdict::Gone => {
                self.disable(live, "the receiver answered 410 Gone").await;
                // Kept for the endpoint: delivered again if it is enabled again.
                msg.ack_with(AckKind::Nak(Some(Duration::from_secs(5)))).await
            }
        };
        if let Err(e) = settled {
            tracing::warn!(error = %e, "could not settle a delivery; it will be redelivered");
        }
    }

    /// A failed attempt: disable the endpoint once every attempt has failed for `disable_after`.
    async fn failing(&self, live: &Live) {
        match endpoints::failed(&self.db, live.row.id).await {
            Ok(Some(since)) if (Utc::now() - since).to_std().unwrap_or_default() >= self.cfg.disable_after => {
                let days = humantime::format_duration(self.cfg.disable_after);
                self.disable(live, &format!("every delivery failed for {days}")).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not record an endpoint's failure"),
        }
    }

    async fn disable(&self, live: &Live, reason: &str) {
        live.stop.cancel();
        match endpoints::disable(&self.db, live.row.id, reason).await {
            Ok(true) => {
                tracing::warn!(endpoint = %live.row.id, reason, "endpoint disabled");
                announce::announce(&self.bus, Some(live.row.id)).await;
                metrics::counter!("employes_sync_endpoints_disabled_total").increment(1);
                let companies = match live.row.company_id {
                    Some(c) => vec![c],
                    None => crate::db::companies::ids(&self.db).await.unwrap_or_default(),
                };
                let message =
                    format!("endpoint {} ({}) was disabled: {reason}", live.row.id, live.url.host_str().unwrap_or("?"));
                for company in companies {
                    if let Err(e) =
                        issues::raise(&self.db, company, IssueKind::EndpointDisabled, &message, Duration::ZERO).await
                    {
                        tracing::warn!(error = %e, "could not open the endpoint_disabled issue");
                    }
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not disable an endpoint"),
        }
    }
}

/// What an endpoint row subscribes to. Consumers made now start at its last change (its
/// creation, or the change that added a type): nothing older is delivered to a new filter.
pub fn wanted(row: &EndpointRow) -> Wanted {
    Wanted {
        endpoint: row.id,
        company: row.company_id,
        types: row.types.as_ref().map(|t| t.iter().filter_map(|k| k.parse().ok()).collect()),
        since: row.updated_at,
    }
}

async fn pause(d: Duration, cancel: &CancellationToken, stop: &CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(d) => {}
    }
}
