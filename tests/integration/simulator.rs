//! Integration tests of the Employes API simulator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use employes_sync::simulator::{SimConfig, Simulator};
use employes_sync::webhook_signature::WebhookKey;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TOKEN: &str = "Bearer test-key";

/// A running simulator, stopped when dropped.
struct TestSim {
    root: String,
    base: String,
    company: Uuid,
    http: reqwest::Client,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Drop for TestSim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn fast_config() -> SimConfig {
    SimConfig { addr: "127.0.0.1:0".parse().expect("addr"), rate_limit: 10_000, latency_ms: 0, ..SimConfig::default() }
}

async fn start(cfg: SimConfig) -> TestSim {
    let sim = Simulator::bind(cfg).await.expect("bind simulator");
    let stop = CancellationToken::new();
    let (root, base, company) = (sim.root_url(), sim.base_url(), sim.company_id());
    let task = tokio::spawn(sim.run_until_stopped(stop.clone()));
    TestSim { root, base, company, http: reqwest::Client::new(), stop, task: Some(task) }
}

impl TestSim {
    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base, self.company, path)
    }

    async fn api(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).header("authorization", TOKEN).send().await.expect("api request")
    }

    async fn api_json(&self, path: &str) -> Value {
        let resp = self.api(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("json")
    }

    async fn control(&self, path: &str, body: Value) -> reqwest::Response {
        self.http.post(format!("{}/_sim/{path}", self.root)).json(&body).send().await.expect("control request")
    }

    async fn truth(&self) -> Value {
        self.http
            .get(format!("{}/_sim/employees", self.root))
            .send()
            .await
            .expect("ground truth")
            .json()
            .await
            .expect("json")
    }

    async fn stats(&self) -> Value {
        self.http.get(format!("{}/_sim/stats", self.root)).send().await.expect("stats").json().await.expect("json")
    }

    async fn first_employee_id(&self) -> String {
        let list = self.api_json("employees?per_page=1").await;
        list["data"][0]["id"].as_str().expect("id").to_string()
    }
}

fn employees(truth: &Value) -> &Vec<Value> {
    truth["employees"].as_array().expect("employees array")
}

/// Independent transition count: sort each period array by start date and compare
/// consecutive periods.
fn transitions(truth: &Value) -> Vec<(String, String, String)> {
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

#[tokio::test]
async fn the_same_seed_gives_identical_data_and_another_seed_differs() {
    // Arrange
    let a = start(fast_config()).await;
    let b = start(fast_config()).await;
    let c = start(SimConfig { seed: 7, ..fast_config() }).await;

    // Act
    let (ta, tb, tc) = (a.truth().await, b.truth().await, c.truth().await);

    // Assert
    assert_eq!(ta.to_string(), tb.to_string());
    assert_ne!(ta.to_string(), tc.to_string());
}

#[tokio::test]
async fn the_default_data_set_has_110_employees_99_with_history_and_exactly_three_transitions() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let truth = sim.truth().await;

    // Assert
    let all = employees(&truth);
    assert_eq!(all.len(), 110);
    let with_history = all.iter().filter(|e| !e["employments"].as_array().expect("array").is_empty()).count();
    assert_eq!(with_history, 99);
    assert!(all.iter().all(|e| e["status"] == "active"));
    assert_eq!(truth["company_id"], sim.company.to_string());
    let expected = vec![
        ("contracts".into(), "\"fixed\"".into(), "\"permanent\"".into()),
        ("hours".into(), "30.0".into(), "40.0".into()),
        ("salary".into(), "2577.0".into(), "2709.0".into()),
    ];
    assert_eq!(transitions(&truth), expected);
    let salary_change = all
        .iter()
        .flat_map(|e| e["employments"][0]["salary"].as_array().cloned().unwrap_or_default())
        .find(|p| p["month_wage"] == 2709.0)
        .expect("raised salary period");
    assert_eq!(salary_change["start_date"], "2025-01-01");
    assert_eq!(salary_change["is_active"], true);
}

#[tokio::test]
async fn an_employee_record_carries_the_documented_fields_and_an_unknown_extra() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let list = sim.api_json("employees?per_page=2").await;

    // Assert
    let e = &list["data"][0];
    for field in [
        "id",
        "first_name",
        "surname",
        "surname_prefix",
        "initials",
        "gender",
        "date_of_birth",
        "email",
        "phone_number",
        "street",
        "housenumber",
        "zipcode",
        "city",
        "country_code",
        "iban",
        "status",
        "employee_number",
        "employee_type_id",
        "administration_id",
        "yearly_wage",
        "dt_create",
        "dt_update",
        "employment",
        "custom_fields",
    ] {
        assert!(e.get(field).is_some(), "missing {field}");
    }
    assert!(e["date_of_birth"].as_str().expect("dob").ends_with("T00:00:00"));
    assert!(e["iban"].as_str().expect("iban").starts_with("NL"));
    assert!(e["employment"]["salary"]["month_wage"].is_number());
    assert_eq!(list["total"], 110);
    assert_eq!(list["pages"], 55);
}

#[tokio::test]
async fn a_company_of_117_is_served_as_pages_of_100_and_17() {
    // Arrange
    let sim = start(SimConfig { employees: 117, ..fast_config() }).await;

    // Act
    let p1 = sim.api_json("employees?page=1&per_page=100").await;
    let p2 = sim.api_json("employees?page=2&per_page=100").await;
    let p3 = sim.api_json("employees?page=3&per_page=100").await;

    // Assert
    assert_eq!(p1["data"].as_array().expect("data").len(), 100);
    assert_eq!(p2["data"].as_array().expect("data").len(), 17);
    assert_eq!(p3["data"].as_array().expect("data").len(), 0);
    assert_eq!(p1["total"], 117);
    assert_eq!(p1["pages"], 2);
    assert_eq!(p2["page"], 2);
    assert_eq!(p2["per_page"], 100);
}

#[tokio::test]
async fn requests_without_a_bearer_token_are_rejected_with_401() {
    // Arrange
    let sim = start(fast_config()).await;

    // Act
    let none = sim.http.get(sim.url("employees")).send().await.expect("send");
    let empty = sim.http.get(sim.url("employees")).header("authorization", "Bearer ").send().await.expect("send");

    // Assert
    assert_eq!(none.status(), 401);
    assert_eq!(empty.status(), 401);
    let body: Value = none.json().await.expect("json");
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn a_wrong_company_id_answers_404_and_other_paths_403() {
    // Arrange
    let sim = start(fast_config()).await;
    let other = format!("{}/{}/employees", sim.base, Uuid::new_v4());

    // Act
    let wrong = sim.http.get(other).header("authorization", TOKEN).send().await.expect("send");
    let forbidden = sim.api("departments").await;

    // Assert
    assert_eq!(wrong.status(), 404);
    assert!(wrong.json::<Value>().await.expect("json")["error"].is_string());
    assert_eq!(forbidden.status(), 403);
}

#[tokio::test]
async fn detail_is_wrapped_in_data_for_odd_employee_numbers_only() {
    // Arrange
    let sim = start(fast_config()).await;
    let list = sim.api_json("employees?per_page=2").await;

    for e in list["data"].as_array().expect("data") {
        // Act
        let id = e["id"].as_str().expect("id");
        let detail = sim.api_json(&format!("employees/{id}")).await;

        // Assert
        let odd = e["employee_number"].as_i64().expect("number") % 2 != 0;
        let record = if odd { &detail["data"] } else { &detail };
        assert_eq!(record["id"], e["id"]);
    }
    assert_eq!(sim.api(&format!("employees/{}", Uuid::new_v4())).await.status(), 404);
}

#[tokio::test]
async fn employees_without_history_answer_404_or_an_empty_list() {
    // Arrange
    let sim = start(fast_config()).await;
    let truth = sim.truth().await;
    let (without, with): (Vec<&Value>, Vec<&Value>) =
        employees(&truth).iter().partition(|e| e["employments"].as_array().expect("array").is_empty());
    assert_eq!(without.len(), 11);

    // Act
    let (mut not_found, mut empty) = (0, 0);
    for e in &without {
        let id = e["id"].as_str().expect("id");
        let resp = sim.api(&format!("employees/{id}/employments")).await;
        match resp.status().as_u16() {
            404 => not_found += 1,
            200 => {
                let body: Value = resp.json().await.expect("json");
                assert_eq!(body["data"], json!([]));
                empty += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    let id = with[0]["id"].as_str().expect("id");
    let history = sim.api_json(&format!("employees/{id}/employments")).await;

    // Assert
    assert_eq!((not_found, empty), (6, 5));
    assert_eq!(history["data"].as_array().expect("data").len(), 1);
    assert_eq!(history["data"], with[0]["employments"]);
}

#[tokio::test]
async fn a_burst_beyond_the_rate_limit_gets_429_with_retry_after_and_is_counted() {
    // Arrange
    let sim = start(SimConfig { rate_limit: 5, ..fast_config() }).await;

    // Act
    let burst = (0..12).map(|_| sim.api("payruns"));
    let responses = futures::future::join_all(burst).await;

    // Assert
    let limited: Vec<&reqwest::Response> = responses.iter().filter(|r| r.status() == 429).collect();
    assert!(limited.len() >= 5, "only {} limited", limited.len());
    for r in &limited {
        let secs: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("whole seconds");
        assert!(secs >= 1);
    }
    let stats = sim.stats().await;
    assert_eq!(stats["rate_limited"], limited.len() as u64);
    assert_eq!(stats["requests"], 12);
    assert_eq!(stats["by_endpoint"]["payruns"], 12);
}

#[tokio::test]
async fn an_error_rate_on_employments_only_leaves_the_list_working() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let set =
        sim.control("faults", json!({"error_rate": 1.0, "error_status": 503, "endpoints": ["employments"]})).await;
    assert_eq!(set.status(), 200);
    let state: Value = set.json().await.expect("json");
    assert_eq!(state["error_rate"], 1.0);
    assert_eq!(state["endpoints"], json!(["employments"]));

    // Act
    let list = sim.api("employees").await;
    let history = sim.api(&format!("employees/{id}/employments")).await;

    // Assert
    assert_eq!(list.status(), 200);
    assert_eq!(history.status(), 503);
    assert_eq!(sim.stats().await["errors_injected"], 1);
}

#[tokio::test]
async fn fail_next_fails_exactly_the_next_n_requests_then_recovers() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"fail_next": 2, "error_status": 429, "retry_after": 3})).await;

    // Act
    let first = sim.api("employees").await;
    let second = sim.api("payruns").await;
    let third = sim.api("employees").await;

    // Assert
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "3");
    assert_eq!(second.status(), 429);
    assert_eq!(third.status(), 200);
    let stats = sim.stats().await;
    assert_eq!(stats["errors_injected"], 2);
    assert_eq!(stats["rate_limited"], 0);
}

#[tokio::test]
async fn a_malformed_fault_answers_200_with_invalid_json() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"malformed_rate": 1.0})).await;

    // Act
    let resp = sim.api("employees").await;

    // Assert
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn a_timeout_fault_holds_the_answer_until_the_client_gives_up() {
    // Arrange
    let mut sim = start(fast_config()).await;
    sim.control("faults", json!({"timeout_rate": 1.0})).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");

    // Act
    let result = impatient.get(sim.url("employees")).header("authorization", TOKEN).send().await;

    // Assert
    assert!(result.expect_err("should time out").is_timeout());
    sim.stop.cancel();
    let task = sim.task.take().expect("task");
    let stopped = tokio::time::timeout(Duration::from_secs(10), task).await;
    assert!(stopped.is_ok(), "simulator did not stop");
}

#[tokio::test]
async fn reject_auth_answers_401_even_with_a_valid_token() {
    // Arrange
    let sim = start(fast_config()).await;
    sim.control("faults", json!({"reject_auth": true})).await;

    // Act
    let rejected = sim.api("employees").await;
    sim.control("faults", json!({"reject_auth": false})).await;
    let accepted = sim.api("employees").await;

    // Assert
    assert_eq!(rejected.status(), 401);
    assert_eq!(accepted.status(), 200);
}

#[tokio::test]
async fn out_of_range_fault_values_are_rejected_with_400() {
    // Arrange
    let sim = start(fast_config()).await;
    let bad = [
        json!({"error_rate": 1.5}),
        json!({"timeout_rate": -0.1}),
        json!({"error_status": 200}),
        json!({"rate_limit": 0}),
        json!({"endpoints": ["salaries"]}),
        json!({"reject_auth": "yes"}),
        json!({"nonsense": 1}),
    ];

    for body in bad {
        // Act
        let resp = sim.control("faults", body.clone()).await;

        // Assert
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"].is_string() && err["message"].is_string());
    }
    let state: Value = sim.control("faults", json!({})).await.json().await.expect("json");
    assert_eq!(state["error_rate"], 0.0);
    assert_eq!(state["rate_limit"], 10_000);
}

#[tokio::test]
async fn a_salary_mutation_appends_a_period_and_closes_the_previous_one() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    let resp = sim
        .control("mutations", json!({"kind":"salary","employee_id":id,"month_wage":2900,"start_date":"2026-12-01"}))
        .await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.expect("json")["employee_id"], id);
    let history = sim.api_json(&format!("employees/{id}/employments")).await;
    let salary = history["data"][0]["salary"].as_array().expect("salary").clone();
    assert_eq!(salary.len(), 2);
    assert_eq!(salary[0]["end_date"], "2026-11-30");
    assert_eq!(salary[0]["is_active"], false);
    assert_eq!(salary[1]["start_date"], "2026-12-01");
    assert_eq!(salary[1]["month_wage"], 2900.0);
    assert_eq!(salary[1]["end_date"], Value::Null);
    let list = sim.api_json("employees?per_page=1").await;
    let record = &list["data"][0];
    assert_eq!(record["employment"]["salary"]["month_wage"], 2900.0);
    assert_eq!(record["yearly_wage"], (2900.0_f64 * 12.96).round());
}

#[tokio::test]
async fn hire_terminate_and_delete_mutations_are_visible_through_the_api() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    let hired: Value =
        sim.control("mutations", json!({"kind":"hire","first_name":"Nieuw"})).await.json().await.expect("json");
    let new_id = hired["employee_id"].as_str().expect("id").to_string();
    let terminated = sim.control("mutations", json!({"kind":"terminate","employee_id":new_id})).await;
    let deleted = sim.control("mutations", json!({"kind":"delete","employee_id":id})).await;

    // Assert
    assert_eq!(terminated.status(), 200);
    assert_eq!(deleted.status(), 200);
    assert_eq!(sim.api(&format!("employees/{id}")).await.status(), 404);
    assert_eq!(sim.api(&format!("employees/{id}/employments")).await.status(), 404);
    let list = sim.api_json("employees?per_page=100&page=2").await;
    assert_eq!(list["total"], 110);
    let new = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|e| e["id"] == new_id.as_str())
        .expect("hired employee listed")
        .clone();
    assert_eq!(new["first_name"], "Nieuw");
    assert_eq!(new["status"], "out of service");
    assert!(new["employment"]["end_date"].is_string());
    let history = sim.api_json(&format!("employees/{new_id}/employments")).await;
    let e = &history["data"][0];
    for kind in ["salary", "hours", "contracts"] {
        assert_eq!(e[kind].as_array().expect(kind).len(), 1, "{kind}");
    }
    let truth = sim.truth().await;
    assert!(employees(&truth).iter().all(|e| e["id"] != id.as_str()));
}

#[tokio::test]
async fn a_personal_mutation_changes_the_field() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;

    // Act
    sim.control("mutations", json!({"kind":"personal","employee_id":id,"field":"email","value":"nieuw@example.nl"}))
        .await;

    // Assert
    let detail = sim.api_json(&format!("employees/{id}")).await;
    let record = if detail.get("data").is_some() { &detail["data"] } else { &detail };
    assert_eq!(record["email"], "nieuw@example.nl");
}

#[tokio::test]
async fn bad_mutations_are_rejected_with_400() {
    // Arrange
    let sim = start(fast_config()).await;
    let id = sim.first_employee_id().await;
    let bad = [
        json!({"kind":"promotion","employee_id":id}),
        json!({"kind":"salary","employee_id":Uuid::new_v4(),"month_wage":3000,"start_date":"2026-01-01"}),
        json!({"kind":"salary","employee_id":id,"month_wage":3000}),
        json!({"kind":"salary","employee_id":id,"month_wage":3000,"start_date":"2026-13-01"}),
        json!({"kind":"salary","employee_id":id,"month_wage":-5,"start_date":"2026-01-01"}),
        json!({"kind":"hours","employee_id":id,"start_date":"2026-01-01"}),
        json!({"kind":"contract","employee_id":id,"contract_duration":"forever","start_date":"2026-01-01"}),
        json!({"kind":"status","employee_id":id,"status":"sleeping"}),
        json!({"kind":"personal","employee_id":id,"field":"iban","value":"NL00"}),
        json!({"employee_id":id}),
    ];

    for body in bad {
        // Act
        let resp = sim.control("mutations", body.clone()).await;

        // Assert
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.expect("json");
        assert!(err["error"].is_string() && err["message"].is_string());
    }
}

/// Requests received by the test's webhook endpoint.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// Starts a receiver answering `statuses` in turn (then 204) and recording requests.
async fn receiver(statuses: Vec<u16>) -> (String, Received, CancellationToken) {
    let received: Received = Arc::default();
    let plan = Arc::new(Mutex::new(statuses.into_iter()));
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((rec, plan)): State<(Received, Arc<Mutex<std::vec::IntoIter<u16>>>)>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    rec.lock().expect("lock").push((headers, body));
                    let code = plan.lock().expect("lock").next().unwrap_or(204);
                    StatusCode::from_u16(code).expect("status")
                },
            ),
        )
        .with_state((received.clone(), plan));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app).with_graceful_shutdown(async move { stopped.cancelled().await }).await
    });
    (url, received, stop)
}

async fn wait_for(received: &Received, n: usize) -> Vec<(HeaderMap, Bytes)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = received.lock().expect("lock").clone();
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Independent Standard-Webhooks verification.
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).expect("secret");
    let header = |name: &str| headers[name].to_str().expect("ascii").to_string();
    let signed = format!("{}.{}.", header("webhook-id"), header("webhook-timestamp"));
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(signed.as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    header("webhook-signature").split(' ').any(|sig| sig == expected)
}

#[tokio::test]
async fn a_mutation_sends_a_signed_webhook_that_verifies_independently() {
    // Arrange
    let secret = format!("whsec_{}", STANDARD.encode(b"simulator-test-secret-0123456789"));
    let (url, received, stop_receiver) = receiver(vec![]).await;
    let sim_cfg = fast_config();
    let sim = Simulator::bind(sim_cfg).await.expect("bind");
    sim.set_webhook_target(url, secret.clone().into());
    let (root, company) = (sim.root_url(), sim.company_id());
    let stop = CancellationToken::new();
    tokio::spawn(sim.run_until_stopped(stop.clone()));
    let http = reqwest::Client::new();
    let truth: Value =
        http.get(format!("{root}/_sim/employees")).send().await.expect("truth").json().await.expect("json");
    let id = truth["employees"][0]["id"].as_str().expect("id").to_string();

    // Act
    let resp = http
        .post(format!("{root}/_sim/mutations"))
        .json(&json!({"kind":"hours","employee_id":id,"hours_per_week":32,"start_date":"2026-02-01"}))
        .send()
        .await
        .expect("mutation");
    assert_eq!(resp.status(), 200);
    let got = wait_for(&received, 1).await;

    // Assert
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    assert!(verify(&secret, headers, body), "signature does not verify");
    assert!(headers["webhook-id"].to_str().expect("id").starts_with("msg_"));
    assert_eq!(headers["content-type"], "application/json");
    let ts: i64 = headers["webhook-timestamp"].to_str().expect("ts").parse().expect("int");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    let event: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(event["type"], "employment.updated");
    assert_eq!(event["data"]["employee_id"], id);
    assert_eq!(event["data"]["company_id"], company.to_string());
    assert!(chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().expect("ts")).is_ok());
    let msg_id = headers["webhook-id"].to_str().expect("id");
    let ours = WebhookKey::from_whsec(&secret).expect("key").sign(msg_id, ts, body);
    assert_eq!(headers["webhook-signature"].to_str().expect("sig"), ours);
    stop.cancel();
    stop_receiver.cancel();
}

#[tokio::test]
async fn a_rejected_webhook_is_retried_with_the_same_id_until_accepted() {
    // Arrange
    let secret = format!("whsec_{}", STANDARD.encode(b"another-secret-for-retries-00000"));
    let (url, received, stop_receiver) = receiver(vec![503, 429]).await;
    let sim =
        start(SimConfig { webhook_url: Some(url), webhook_secret: Some(secret.clone().into()), ..fast_config() }).await;

    // Act
    sim.control("mutations", json!({"kind":"hire"})).await;
    let got = wait_for(&received, 3).await;

    // Assert
    assert_eq!(got.len(), 3);
    let ids: Vec<&str> = got.iter().map(|(h, _)| h["webhook-id"].to_str().expect("id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert!(got.iter().all(|(h, b)| verify(&secret, h, b)));
    let event: Value = serde_json::from_slice(&got[2].1).expect("json");
    assert_eq!(event["type"], "employee.created");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(received.lock().expect("lock").len(), 3, "no delivery after a 2xx");
    stop_receiver.cancel();
}
