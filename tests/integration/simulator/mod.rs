//! Integration tests of the Employes API simulator, one file per topic: its data set, the
//! Employes API it serves, injected faults, mutations (and the `contracts` list), the
//! webhooks it sends, many companies (data, keys, rate limit per token, control routes per
//! company), its command line and the OpenAPI document of its control API.

mod api;
mod companies;
mod contracts;
mod data_set;
mod docs;
mod faults;
mod mutations;
mod per_company;
mod webhooks;

use employes_sync::simulator::SimConfig;
use serde_json::Value;
use testkit::sim::SimServer;
use uuid::Uuid;

const TOKEN: &str = "Bearer test-key";

/// A running simulator (stopped when dropped) and requests to it as an Employes client sends them.
struct TestSim {
    server: SimServer,
    base: String,
    company: Uuid,
    http: reqwest::Client,
}

fn fast_config() -> SimConfig {
    SimConfig { rate_limit: 10_000, latency_ms: 0, ..SimConfig::default() }
}

async fn start(cfg: SimConfig) -> TestSim {
    let server = SimServer::start(cfg).await;
    let (base, company) = (server.base.clone(), server.company);
    TestSim { server, base, company, http: reqwest::Client::new() }
}

impl TestSim {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base, self.company, path)
    }

    async fn api(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).header("authorization", TOKEN).send().await.expect("api request")
    }

    /// `GET /v4/{company}/{path}` with `Authorization: Bearer {token}`.
    async fn api_as(&self, token: &str, company: Uuid, path: &str) -> reqwest::Response {
        let url = format!("{}/{company}/{path}", self.base);
        self.http.get(url).bearer_auth(token).send().await.expect("api request")
    }

    /// `GET /v4/{company}/{path}` with the test token, as JSON.
    async fn api_json_of(&self, company: Uuid, path: &str) -> Value {
        let resp = self.api_as("test-key", company, path).await;
        assert_eq!(resp.status(), 200, "GET {company}/{path}");
        resp.json().await.expect("json")
    }

    /// `GET /v4/companies` with `Authorization: Bearer {token}`, as JSON.
    async fn companies_as(&self, token: &str) -> Value {
        let resp = self.http.get(format!("{}/companies", self.base)).bearer_auth(token).send().await.expect("send");
        assert_eq!(resp.status(), 200, "GET /v4/companies");
        resp.json().await.expect("json")
    }

    /// The ids of every company served, in order.
    fn company_ids(&self) -> Vec<Uuid> {
        self.server.companies.iter().map(|c| c.id).collect()
    }

    /// `GET /_sim/{path}`, as answered.
    async fn control_get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}/_sim/{path}", self.server.control.root)).send().await.expect("control request")
    }

    async fn api_json(&self, path: &str) -> Value {
        let resp = self.api(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("json")
    }

    /// `POST /_sim/{path}`, as answered.
    async fn control(&self, path: &str, body: Value) -> reqwest::Response {
        self.server.control.post_raw(&format!("/_sim/{path}"), &body).await
    }

    async fn truth(&self) -> Value {
        self.server.control.get("/_sim/employees").await
    }

    async fn stats(&self) -> Value {
        self.server.control.get("/_sim/stats").await
    }

    async fn first_employee_id(&self) -> String {
        let list = self.api_json("employees?per_page=1").await;
        list["data"][0]["id"].as_str().expect("id").to_string()
    }
}

pub(super) fn employees(truth: &Value) -> &Vec<Value> {
    truth["employees"].as_array().expect("employees array")
}

/// Independent transition count: sort each period array by start date and compare
/// consecutive periods.
pub(super) fn transitions(truth: &Value) -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for e in employees(truth) {
        for employment in e["employments"].as_array().expect("employments") {
            for (kind, field) in
                [("salary", "month_wage"), ("hours", "hours_per_week"), ("contracts", "contract_duration")]
            {
                let mut periods = employment[kind].as_array().expect(kind).clone();
                periods.sort_by_key(|p| p["start_date"].as_str().unwrap_or("").to_string());
                for pair in periods.windows(2) {
                    let (old, new) = (&pair[0][field], &pair[1][field]);
                    if old != new {
                        found.push((kind.to_string(), old.to_string(), new.to_string()));
                    }
                }
            }
        }
    }
    found.sort();
    found
}
