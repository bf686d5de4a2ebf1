//! Endpoint changes, announced: `{"endpoint_id"}` on `<p>.control.endpoints` (core NATS) after every
//! write, so every replica's dispatcher reconciles at once instead of at its next periodic look.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bus::Bus;

/// `{"endpoint_id"}`: an endpoint was added, changed, disabled or deleted (`null`: any may have).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointsChanged {
    #[schema(required = true)]
    pub endpoint_id: Option<Uuid>,
}

/// Tell every dispatcher that `endpoint` changed. A lost announcement costs only promptness: each
/// dispatcher also reconciles every [`super::dispatcher::RECONCILE_EVERY`].
pub async fn announce(bus: &Bus, endpoint: Option<Uuid>) {
    let payload = serde_json::to_vec(&EndpointsChanged { endpoint_id: endpoint }).expect("it serializes");
    let sent = bus.client.publish(bus.control_endpoints_subject(), payload.into()).await;
    if let Err(e) = sent.map_err(anyhow::Error::new).and(bus.client.flush().await.map_err(anyhow::Error::new)) {
        tracing::warn!(error = %e, "could not announce an endpoint change; dispatchers reconcile on their own soon");
    }
}

/// Follow `<p>.control.endpoints`; `None` when it cannot be followed now (the periodic look stays).
pub async fn subscribe(bus: &Bus) -> Option<async_nats::Subscriber> {
    match bus.client.subscribe(bus.control_endpoints_subject()).await {
        Ok(sub) => {
            let _ = bus.client.flush().await;
            Some(sub)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot follow endpoint changes; reconciling periodically only");
            None
        }
    }
}
