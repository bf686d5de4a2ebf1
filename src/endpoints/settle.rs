//! One delivery, start to end: POST the event ([`super::deliver`]), log the attempt (batched,
//! [`super::journal`]) and only then settle the message — acked after a 2xx, a delayed NAK on the
//! retry schedule (or the receiver's `Retry-After`), terminated after the last attempt. A `410
//! Gone` disables the endpoint at once; failing for `ENDPOINT_DISABLE_AFTER` disables it too (and
//! opens the company's `endpoint_disabled` issue).
//!
//! A 2xx is settled with a plain ack, not a double ack (an ack the server confirms): the attempt
//! is committed to the log before it, and an ack lost on the way is only a redelivery after the
//! ack wait, with the same `webhook-id` — the at-least-once the contract promises. Waiting for
//! the confirmation would cost a round trip per delivery and close no gap in that promise.

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use chrono::Utc;
use tokio::sync::OwnedSemaphorePermit;

use super::{
    announce,
    deliver::{self, Target},
    dispatcher::Dispatcher,
    journal::Attempt,
    live::Live,
    retry::{Verdict, verdict},
};
use crate::{
    db::{endpoints, issues},
    domain::{AttemptStatus, IssueKind},
};

/// The head of an event: what delivery needs of it (the body is sent as it was published).
/// Borrowed from the payload (an event id and type have no escapes): no copy per delivery.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    event_type: std::borrow::Cow<'a, str>,
}

impl Dispatcher {
    /// Deliver one event and settle it; `slot` is given back once the POST is answered (or a
    /// `410 Gone` has stopped the endpoint's loops). Its span is at DEBUG, so at the default
    /// level none is made per delivery; every warning names the endpoint itself.
    #[tracing::instrument(level = "debug", skip_all, fields(endpoint = %live.row.id))]
    pub(super) async fn handle(&self, live: &Live, msg: jetstream::Message, slot: OwnedSemaphorePermit) {
        let attempt = msg.info().map_or(1, |i| i.delivered.max(1) as u32);
        let Ok(head) = serde_json::from_slice::<Head>(&msg.payload) else {
            tracing::warn!(endpoint = %live.row.id, subject = %msg.subject, "a message that is not an event; dropped");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let event_type = head.event_type.strip_prefix("nl.employes.").unwrap_or(&head.event_type).to_string();
        let now = Utc::now();
        let keys = live.keys(now);
        let target = Target { url: &live.url, keys: &keys, allow_private: self.cfg.allow_private_networks };
        let done = deliver::attempt(&self.client, &target, &head.id, msg.payload.clone()).await;
        live.meters.attempt_seconds.record(done.took.as_secs_f64());
        live.pace.record(done.took);
        let verdict = verdict(&self.cfg.retry_schedule, attempt, &done.response);
        if verdict == Verdict::Gone {
            // Nothing more is sent to it: its loops stop before the slot frees.
            live.stop.cancel();
        }
        drop(slot);
        let (status, next) = match verdict {
            Verdict::Delivered => (AttemptStatus::Succeeded, None),
            Verdict::Retry(after) => (AttemptStatus::Pending, Some(after)),
            Verdict::GiveUp | Verdict::Gone => (AttemptStatus::Failed, None),
        };
        live.meters.outcome(verdict).increment(1);
        let error = match verdict {
            Verdict::Gone => Some("HTTP 410 Gone: the endpoint is disabled".to_string()),
            Verdict::GiveUp => done.error.as_ref().map(|e| format!("{e}; no retry left")),
            _ => done.error.clone(),
        };
        let next_attempt_at = next.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| now + d);
        let Ok(event_id) = head.id.parse() else {
            tracing::warn!(endpoint = %live.row.id, "an event whose id is not a UUID; dropped");
            let _ = msg.ack_with(AckKind::Term).await;
            return;
        };
        let logging = std::time::Instant::now();
        let logged = live
            .journal
            .record(Attempt {
                event_id,
                event_type,
                attempt: attempt as i32,
                status,
                response_status: done.status.map(i32::from),
                error,
                next_attempt_at,
            })
            .await;
        live.meters.waited_log.increment(super::live::micros(logging.elapsed()));
        if let Err(e) = logged {
            tracing::warn!(endpoint = %live.row.id, error = %e, "could not log a delivery attempt");
        }
        let settled = match verdict {
            Verdict::Delivered => {
                self.healthy(live).await;
                msg.ack().await
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
            tracing::warn!(endpoint = %live.row.id, error = %e, "could not settle a delivery; it will be redelivered");
        }
    }

    /// A delivered event: the endpoint is not failing. Written when this replica has not cleared
    /// `failing_since` within [`super::live::HEALTH_REFRESH`] (or saw a failure since), not
    /// on every delivery.
    async fn healthy(&self, live: &Live) {
        if !live.health.clear_due() {
            return;
        }
        if let Err(e) = endpoints::succeeded(&self.db, live.row.id).await {
            live.health.failed();
            tracing::warn!(endpoint = %live.row.id, error = %e, "could not mark an endpoint healthy");
        }
    }

    /// A failed attempt: disable the endpoint once every attempt has failed for `disable_after`.
    async fn failing(&self, live: &Live) {
        live.health.failed();
        match endpoints::failed(&self.db, live.row.id).await {
            Ok(Some(since)) if (Utc::now() - since).to_std().unwrap_or_default() >= self.cfg.disable_after => {
                let days = humantime::format_duration(self.cfg.disable_after);
                self.disable(live, &format!("every delivery failed for {days}")).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(endpoint = %live.row.id, error = %e, "could not record an endpoint's failure"),
        }
    }

    /// Disable the endpoint and open the `endpoint_disabled` issue of its company (of every
    /// company, for an endpoint of all) in one transaction: whoever sees it disabled sees the issue.
    async fn disable(&self, live: &Live, reason: &str) {
        live.stop.cancel();
        let message =
            format!("endpoint {} ({}) was disabled: {reason}", live.row.id, live.url.host_str().unwrap_or("?"));
        match self.disable_with_issue(live, reason, &message).await {
            Ok(true) => {
                tracing::warn!(endpoint = %live.row.id, reason, "endpoint disabled");
                announce::announce(&self.bus, Some(live.row.id)).await;
                metrics::counter!("employes_sync_endpoints_disabled_total").increment(1);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(endpoint = %live.row.id, error = %e, "could not disable an endpoint"),
        }
    }

    /// Whether this call disabled it (`false`: it was disabled already).
    async fn disable_with_issue(&self, live: &Live, reason: &str, message: &str) -> sqlx::Result<bool> {
        let mut tx = self.db.begin().await?;
        if !endpoints::disable(&mut *tx, live.row.id, reason).await? {
            return Ok(false);
        }
        let companies = match live.row.company_id {
            Some(c) => vec![c],
            None => crate::db::companies::ids(&mut *tx).await?,
        };
        for company in companies {
            issues::raise(&mut *tx, company, IssueKind::EndpointDisabled, message, Duration::ZERO).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
