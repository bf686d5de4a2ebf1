//! Delivery on every replica (worker role): one task per enabled endpoint, following the
//! database, pulls from the endpoint's durable consumers ([`super::consumers`], [`super::pull`])
//! and delivers and settles each event ([`super::settle`]) once its attempt is logged. Replicas
//! pull from the same consumers, so they share the work; an event a killed replica held is
//! redelivered after the ack wait.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    announce,
    consumers::{self, Wanted},
    journal::Journal,
    live::{Health, Live, Meters, Pace},
    pull::Slots,
    secrets::open_keys,
};
use crate::{
    bus::Bus,
    companies::SecretsKey,
    config::EndpointConfig,
    db::{
        Db,
        endpoints::{self, EndpointRow},
    },
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
        Ok(Live {
            row: row.clone(),
            url,
            current,
            previous,
            stop: CancellationToken::new(),
            journal: Journal::start(self.db.clone(), row.id),
            health: Health::default(),
            pace: Pace::default(),
            meters: Meters::new(row.id),
        })
    }

    /// One endpoint: a pull loop per consumer, sharing `ENDPOINT_CONCURRENCY` slots.
    async fn serve(self, live: Arc<Live>, cancel: CancellationToken, stop: CancellationToken) {
        let wanted = wanted(&live.row);
        let plan = wanted.plan(&self.bus);
        consumers::prune(&self.bus, live.row.id, &plan).await;
        let slots = Slots::new(self.cfg.concurrency);
        let mut loops = JoinSet::new();
        for planned in plan {
            let (this, live, slots, wanted) = (self.clone(), live.clone(), slots.clone(), wanted.clone());
            let (cancel, stop) = (cancel.clone(), stop.clone());
            loops.spawn(async move { this.pull(live, wanted, planned, slots, cancel, stop).await });
        }
        while loops.join_next().await.is_some() {}
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
