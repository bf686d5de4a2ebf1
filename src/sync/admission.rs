//! Admitting a webhook event that intake queued without touching the database: record the
//! delivery, join a queued session of its company or open one (and queue its task), then link
//! the two.

use async_nats::jetstream;

use super::{
    AdmitWebhook, SyncTrigger, trigger,
    worker::{Outcome, Worker, dead},
};
use crate::{
    db::webhooks::{self, Admission, Delivery},
    domain::{Source, WebhookOutcome},
};

impl Worker {
    /// Admit a queued webhook event. A redelivery after a crash in between admits it again; a
    /// repeat of an admitted webhook id (after the stream's duplicate window) is recorded and
    /// dropped. An event of the first version names no company: it is the v1 company's.
    #[tracing::instrument(skip_all, fields(event_type = %event.event_type))]
    pub async fn admit(&self, msg: &jetstream::Message, event: &AdmitWebhook, first_delivery: bool) -> Outcome {
        let db = &self.ctx.db;
        let Some(company) = event.company_id.or_else(|| self.ctx.companies.default_company()) else {
            return self
                .give_up(msg, dead(msg, "the webhook names no company and no default company is configured"))
                .await;
        };
        let delivery = |outcome| Delivery {
            company_id: Some(company),
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
            // A company deleted since intake queued the event.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return self.give_up(msg, dead(msg, "the webhook's company does not exist")).await;
            }
            Err(e) => return Outcome::Retry(format!("database: {e}")),
        }
        let trigger = SyncTrigger {
            company_id: company,
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
