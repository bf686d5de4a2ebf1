//! The Employes simulator served in this process, and a client of its control API (`/_sim/…`).

use employes_sync::simulator::{SimCompany, SimConfig, Simulator};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::http::json_ok;

/// A client of a simulator's control API: faults, stats, ground truth, mutations.
#[derive(Clone)]
pub struct SimControl {
    /// `http://IP:PORT` of the simulator.
    pub root: String,
    pub http: reqwest::Client,
}

impl SimControl {
    pub fn new(root: String) -> SimControl {
        SimControl { root, http: reqwest::Client::new() }
    }

    /// `POST {root}{path}` with a JSON body, to be sent (with a timeout, say, or its errors handled).
    pub fn post_request(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.root)).json(body)
    }

    /// `POST {root}{path}` with a JSON body, as it is answered.
    pub async fn post_raw(&self, path: &str, body: &Value) -> reqwest::Response {
        self.post_request(path, body).send().await.unwrap()
    }

    /// `POST {root}{path}`; panics unless the answer is a 2xx, returns its JSON.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        json_ok(self.post_raw(path, &body).await, &format!("sim {path}")).await
    }

    /// `GET {root}{path}` as JSON.
    pub async fn get(&self, path: &str) -> Value {
        json_ok(self.http.get(format!("{}{path}", self.root)).send().await.unwrap(), &format!("sim {path}")).await
    }

    /// The ground truth: every employee with its full employment history.
    pub async fn truth(&self) -> Value {
        self.get("/_sim/employees").await
    }

    /// The id of the `n`-th employee of the ground truth.
    pub async fn employee_id(&self, n: usize) -> String {
        self.truth().await["employees"][n]["id"].as_str().expect("an employee id").to_string()
    }

    /// Request counters (`requests`, `by_endpoint`, `rate_limited`, `errors_injected`).
    pub async fn stats(&self) -> Value {
        self.get("/_sim/stats").await
    }

    /// Apply a mutation upstream (`{"kind": "salary", …}`); returns its answer.
    pub async fn mutate(&self, mutation: Value) -> Value {
        self.post("/_sim/mutations", mutation).await
    }

    /// Change the fault configuration (a partial one); returns the whole configuration.
    pub async fn faults(&self, faults: Value) -> Value {
        self.post("/_sim/faults", faults).await
    }

    /// `GET /_sim/companies`: `[{"id","name","employees","with_history","key_required"}..]`.
    pub async fn companies(&self) -> Vec<Value> {
        self.get("/_sim/companies").await["companies"].as_array().expect("a companies array").clone()
    }

    /// The ground truth of one company.
    pub async fn truth_of(&self, company: Uuid) -> Value {
        self.get(&format!("/_sim/employees?company_id={company}")).await
    }

    /// The id of the `n`-th employee of one company's ground truth.
    pub async fn employee_id_of(&self, company: Uuid, n: usize) -> String {
        self.truth_of(company).await["employees"][n]["id"].as_str().expect("an employee id").to_string()
    }

    /// One company's request counters.
    pub async fn stats_of(&self, company: Uuid) -> Value {
        self.get(&format!("/_sim/stats?company_id={company}")).await
    }

    /// Apply a mutation to one company.
    pub async fn mutate_in(&self, company: Uuid, mutation: Value) -> Value {
        self.post("/_sim/mutations", with_company(mutation, company)).await
    }

    /// Change one company's own faults; returns its whole fault configuration.
    pub async fn faults_in(&self, company: Uuid, faults: Value) -> Value {
        self.post("/_sim/faults", with_company(faults, company)).await
    }
}

/// `body` with `"company_id": company` added.
fn with_company(mut body: Value, company: Uuid) -> Value {
    body.as_object_mut().expect("a JSON object body").insert("company_id".into(), company.to_string().into());
    body
}

/// A simulator served in this process until dropped (or [`SimServer::stop`]ped).
pub struct SimServer {
    pub control: SimControl,
    /// `http://IP:PORT/v4`: what the service uses as `EMPLOYES_API_URL`.
    pub base: String,
    /// The first company (the only one unless the configuration lists more).
    pub company: Uuid,
    /// Every company served, in order (the first is `company`).
    pub companies: Vec<SimCompany>,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl SimServer {
    /// Bind `cfg` on `127.0.0.1:0` and serve it.
    pub async fn start(cfg: SimConfig) -> SimServer {
        let cfg = SimConfig { addr: "127.0.0.1:0".parse().unwrap(), ..cfg };
        SimServer::serve(Simulator::bind(cfg).await.expect("the simulator binds"))
    }

    /// Serve a simulator already bound (e.g. once its webhook target is known).
    pub fn serve(sim: Simulator) -> SimServer {
        let (root, base, company) = (sim.root_url(), sim.base_url(), sim.company_id());
        let companies = sim.companies().to_vec();
        let stop = CancellationToken::new();
        let task = tokio::spawn(sim.run_until_stopped(stop.clone()));
        SimServer { control: SimControl::new(root), base, company, companies, stop, task: Some(task) }
    }

    /// Stop serving; true when the server ended within 10 s.
    pub async fn stop(&mut self) -> bool {
        self.stop.cancel();
        let Some(task) = self.task.take() else { return true };
        tokio::time::timeout(std::time::Duration::from_secs(10), task).await.is_ok()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
