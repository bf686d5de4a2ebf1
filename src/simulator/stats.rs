//! Request counters of the Employes API (`GET /_sim/stats`): simulator-wide and per company.

use serde_json::{Map, Value, json};

use super::faults::Endpoint;

/// Request counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub requests: u64,
    pub by_endpoint: [u64; Endpoint::ALL.len()],
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

    fn endpoints_json(&self, scoped: bool) -> Map<String, Value> {
        Endpoint::ALL
            .iter()
            .zip(self.by_endpoint)
            .filter(|(e, _)| !scoped || **e != Endpoint::Companies)
            .map(|(e, n)| (e.name().to_string(), json!(n)))
            .collect()
    }

    /// The simulator-wide counters (`by_endpoint` includes `companies`).
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "by_endpoint": self.endpoints_json(false),
            "rate_limited": self.rate_limited,
            "errors_injected": self.errors_injected,
        })
    }

    /// One company's counters (its `by_endpoint` has only the endpoints under a company).
    pub fn company_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "by_endpoint": self.endpoints_json(true),
            "rate_limited": self.rate_limited,
            "errors_injected": self.errors_injected,
        })
    }
}
