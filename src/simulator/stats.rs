//! Request counters of the Employes API (`GET /_sim/stats`).

use serde_json::{Map, Value, json};

use super::faults::Endpoint;

/// Request counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub requests: u64,
    pub by_endpoint: [u64; 4],
    pub rate_limited: u64,
    pub errors_injected: u64,
}

impl Stats {
    pub fn count_request(&mut self, endpoint: Option<Endpoint>) {
        self.requests += 1;
        if let Some(ep) = endpoint {
            let i = Endpoint::ALL.iter().position(|e| *e == ep).unwrap_or(0);
            self.by_endpoint[i] += 1;
        }
    }

    pub fn to_json(&self) -> Value {
        let by: Map<String, Value> =
            Endpoint::ALL.iter().zip(self.by_endpoint).map(|(e, n)| (e.name().to_string(), json!(n))).collect();
        json!({
            "requests": self.requests,
            "by_endpoint": by,
            "rate_limited": self.rate_limited,
            "errors_injected": self.errors_injected,
        })
    }
}
