//! The Employes client against the simulator.

use std::time::{Duration, Instant};

use employes_sync::{
    employes::{ClientParts, EmployesClient, EmployesError, Endpoint, http_client, limiter},
    simulator::SimConfig,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::sim::SimServer;

/// A simulator and an Employes client of it.
struct Sim {
    server: SimServer,
    client: EmployesClient,
}

async fn sim(cfg: SimConfig, client_rate: u32) -> Sim {
    let server = SimServer::start(cfg).await;
    let client = EmployesClient::new(ClientParts {
        http: http_client(Duration::from_secs(1)).unwrap(),
        base_url: server.base.clone(),
        company: server.company,
        key: SecretString::from("test-key".to_string()),
        limiter: limiter(client_rate),
        max_attempts: 5,
        tally: Default::default(),
    });
    Sim { server, client }
}

impl Sim {
    async fn faults(&self, body: Value) {
        self.server.control.post("/_sim/faults", body).await;
    }

    async fn stats(&self) -> Value {
        self.server.control.get("/_sim/stats").await
    }
}

fn fast() -> SimConfig {
    SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }
}

#[tokio::test]
async fn a_company_of_117_employees_is_fetched_over_two_pages() {
    // Arrange
    let s = sim(SimConfig { employees: 117, ..fast() }, 1000).await;
    // Act
    let list = s.client.list_employees().await.unwrap();
    // Assert
    assert_eq!(list.employees.len(), 117);
    assert!(list.is_complete());
    assert_eq!(s.stats().await["by_endpoint"]["list"], 2);
}

#[tokio::test]
async fn a_full_fetch_at_five_requests_per_second_is_never_rate_limited() {
    // Arrange: the simulator enforces 5 req/s, like Employes.
    let s = sim(SimConfig { rate_limit: 5, latency_ms: 30, ..SimConfig::default() }, 5).await;
    // Act: the list, then every employee's employments.
    let list = s.client.list_employees().await.unwrap();
    let mut with_history = 0;
    for e in &list.employees {
        if !s.client.employments(e.id).await.unwrap().is_empty() {
            with_history += 1;
        }
    }
    // Assert
    assert_eq!((list.employees.len(), with_history), (110, 99));
    let stats = s.stats().await;
    assert_eq!(stats["rate_limited"], 0, "{stats}");
    assert_eq!(stats["requests"], 112);
}

#[tokio::test]
async fn a_429_with_retry_after_delays_the_retry() {
    // Arrange
    let s = sim(fast(), 1000).await;
    s.faults(json!({"fail_next": 1, "error_status": 429, "retry_after": 2})).await;
    // Act
    let started = Instant::now();
    let list = s.client.list_employees().await.unwrap();
    // Assert
    assert!(started.elapsed() >= Duration::from_secs(2), "retried after {:?}", started.elapsed());
    assert_eq!(list.employees.len(), 110);
}

#[tokio::test]
async fn a_burst_of_503s_is_retried_until_it_succeeds() {
    let s = sim(fast(), 1000).await;
    s.faults(json!({"fail_next": 3, "error_status": 503})).await;
    let list = s.client.list_employees().await.unwrap();
    assert_eq!(list.employees.len(), 110);
    assert_eq!(s.stats().await["errors_injected"], 3);
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_bounded_attempts() {
    let s = sim(fast(), 1000).await;
    s.faults(json!({"error_rate": 1.0, "error_status": 502})).await;
    let err = s.client.list_employees().await.unwrap_err();
    assert!(matches!(err, EmployesError::Exhausted { status: 502, attempts: 5, .. }), "{err:?}");
}

#[tokio::test]
async fn employments_404_or_empty_mean_no_history() {
    let s = sim(fast(), 1000).await;
    let list = s.client.list_employees().await.unwrap();
    let mut empty = 0;
    for e in &list.employees {
        if s.client.employments(e.id).await.unwrap().is_empty() {
            empty += 1;
        }
    }
    assert_eq!(empty, 11);
}

#[tokio::test]
async fn malformed_json_is_a_typed_error_naming_the_endpoint_not_the_body() {
    let s = sim(fast(), 1000).await;
    s.faults(json!({"malformed_rate": 1.0})).await;
    let err = s.client.list_employees().await.unwrap_err();
    assert_eq!(err, EmployesError::Malformed { endpoint: Endpoint::ListEmployees });
    assert_eq!(err.to_string(), "Employes sent malformed JSON on GET /employees");
}

#[tokio::test]
async fn a_rejected_key_is_not_retried() {
    let s = sim(fast(), 1000).await;
    s.faults(json!({"reject_auth": true})).await;
    let err = s.client.list_employees().await.unwrap_err();
    assert!(err.is_fatal());
    assert_eq!(s.stats().await["requests"], 1);
}

#[tokio::test]
async fn timeouts_are_retried_and_reported_as_timeouts() {
    let s = sim(fast(), 1000).await;
    s.faults(json!({"timeout_rate": 1.0})).await;
    let err = s.client.employee(uuid::Uuid::new_v4()).await.unwrap_err();
    assert!(matches!(err, EmployesError::Timeout { attempts: 5, .. }), "{err:?}");
}
