//! Scenario 2: from a change upstream (the simulator's webhook) to its change notification on
//! NATS.

use std::time::{Duration, Instant};

use employes_sync::simulator::SimConfig;
use futures::StreamExt as _;
use serde_json::{Value, json};
use testkit::{WEBHOOK_SECRET, free_port, nats::Nats, sim::SimServer};

use crate::{
    report::{Report, pct},
    service::Service,
    sync::full_sync,
};

pub async fn latency_scenario(
    report: &mut Report,
    nats: &Nats,
    nc: &async_nats::Client,
    runs: usize,
) -> anyhow::Result<()> {
    println!("\n== webhook → change notification latency ({runs} runs, simulator 30 ms latency, 1000 req/s) ==");
    let sim_rate = 1000;
    let port = free_port();
    let sim = SimServer::start(SimConfig {
        rate_limit: sim_rate,
        latency_ms: 30,
        webhook_url: Some(format!("http://127.0.0.1:{port}/webhooks/employes")),
        webhook_secret: Some(WEBHOOK_SECRET.to_string().into()),
        ..SimConfig::default()
    })
    .await;
    let addr = format!("127.0.0.1:{port}");
    let svc = Service::start("latency", nats, &sim, sim_rate, "http,worker", &[("HTTP_ADDR", &addr)]).await?;
    full_sync(&svc, nc, &sim).await?;
    let truth = sim.control.get("/_sim/employees").await;
    let with_history: Vec<String> = truth["employees"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["employments"].as_array().is_some_and(|a| !a.is_empty()))
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect();
    anyhow::ensure!(!with_history.is_empty(), "no employee with history");
    let mut changes = nc.subscribe(format!("{}.changes.>", svc.prefix)).await?;
    nc.flush().await?;
    let base = chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
    let mut samples = Vec::with_capacity(runs);
    let mut timeouts = 0;
    for i in 0..runs {
        let employee = &with_history[i % with_history.len()];
        let date = (base + chrono::Days::new(i as u64)).to_string();
        let started = Instant::now();
        sim.control
            .post(
                "/_sim/mutations",
                json!({"kind": "salary", "employee_id": employee, "month_wage": 3100 + i, "start_date": date}),
            )
            .await;
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(msg) = changes.next().await {
                let Ok(ev) = serde_json::from_slice::<Value>(&msg.payload) else { continue };
                if ev["type"] == "nl.employes.salary_change"
                    && ev["subject"] == employee.as_str()
                    && ev["data"]["effective_date"] == date.as_str()
                {
                    return true;
                }
            }
            false
        })
        .await;
        match got {
            Ok(true) => samples.push(started.elapsed().as_secs_f64() * 1000.0),
            _ => timeouts += 1,
        }
    }
    samples.sort_by(f64::total_cmp);
    let (p50, p99, max) = (pct(&samples, 50.0), pct(&samples, 99.0), samples.last().copied().unwrap_or(f64::NAN));
    report.figure(
        "Webhook → change notification latency",
        format!("p50 {p50:.0} ms, p99 {p99:.0} ms, max {max:.0} ms over {} runs ({timeouts} timed out)", samples.len()),
        "p99 < 300 ms (30 ms simulator latency)",
        Some(p99 < 300.0 && timeouts == 0),
    );
    report.note(format!(
        "latency runs: simulator rate limit {sim_rate} req/s with the client at EMPLOYES_RATE_LIMIT={sim_rate}, so pacing never waits; \
         a targeted sync makes 2 Employes calls (detail + employments), i.e. ≥ 60 ms of simulated latency per run"
    ));
    report.raw.insert("latency_ms".into(), json!({"samples": samples, "timeouts": timeouts}));
    Ok(())
}
