//! Scenario 3: webhook intake throughput of the service against a baseline handler that only
//! publishes to JetStream, in paired rounds.

use std::{net::SocketAddr, process::Command, sync::Arc, time::Instant};

use bytes::Bytes;
use employes_sync::simulator::SimConfig;
use serde_json::json;
use testkit::{Webhook, nats::Nats, process::ServiceProcess, sim::SimServer};
use uuid::Uuid;

use crate::{
    report::{Report, pct},
    service::{Perf, Service, cpu_seconds},
};

pub struct Load {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

/// `total` signed webhooks (distinct ids, random employees) over `connections` concurrent
/// connections; returns accepted/s and latency percentiles.
pub async fn load(url: &str, company: Uuid, total: usize, connections: usize, tag: &str) -> anyhow::Result<Load> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(connections).build()?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (http, next, url, tag) = (http.clone(), next.clone(), url.to_string(), tag.to_string());
        tasks.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let id = format!("msg_{tag}_{i}_{}", Uuid::new_v4().simple());
                let body = json!({
                    "type": "employee.updated",
                    "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "data": {"company_id": company, "employee_id": Uuid::new_v4()},
                });
                let webhook = Webhook::with_id(id, body.to_string().into_bytes());
                let t = Instant::now();
                let resp = webhook.request(&http, &url).send().await;
                match resp {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        });
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r?;
        lat.extend(l);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Ok(Load { rate: lat.len() as f64 / secs, p50_ms: pct(&lat, 50.0), p99_ms: pct(&lat, 99.0), errors })
}

/// The baseline: an axum handler that only publishes the body to JetStream and awaits the ack,
/// served by this example in a child process of its own (`bench baseline-server <nats-url>`),
/// so it runs like the service does: its own process and runtime, across loopback.
pub async fn serve_baseline(nats_url: &str) -> anyhow::Result<()> {
    use async_nats::jetstream::{self, stream::Config as StreamConfig};
    use axum::{Router, extract::State, http::StatusCode, routing::post};
    let client = async_nats::connect(nats_url).await?;
    let js = jetstream::new(client);
    let subject = format!("baseline{}.webhooks", &Uuid::new_v4().simple().to_string()[..8]);
    js.get_or_create_stream(StreamConfig {
        name: subject.replace('.', "_").to_uppercase(),
        subjects: vec![subject.clone()],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("baseline stream: {e}"))?;
    let state = Arc::new((js, subject));
    async fn handler(State(s): State<Arc<(async_nats::jetstream::Context, String)>>, body: Bytes) -> StatusCode {
        match s.0.publish(s.1.clone(), body).await {
            Ok(ack) => match ack.await {
                Ok(_) => StatusCode::ACCEPTED,
                Err(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    let app = Router::new().route("/webhooks/employes", post(handler)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The baseline server as a child process (killed on drop) and its address.
async fn start_baseline(nats_url: &str) -> anyhow::Result<(ServiceProcess, SocketAddr)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["baseline-server", nats_url]);
    let mut baseline = ServiceProcess::spawn(cmd);
    let addr = baseline.http_addr().await;
    Ok((baseline, addr))
}

/// Paired load rounds of the intake scenario.
const ROUNDS: usize = 7;

pub async fn intake_scenario(report: &mut Report, nats: &Nats, total: usize, connections: usize) -> anyhow::Result<()> {
    println!("\n== webhook intake: {total} signed webhooks × {ROUNDS} paired rounds, {connections} connections ==");
    let sim = SimServer::start(SimConfig { rate_limit: 1000, latency_ms: 0, ..SimConfig::default() }).await;
    // HTTP role only: intake is measured, not the targeted syncs the webhooks cause.
    let svc = Service::start("intake", nats, &sim, 1000, "http", &[]).await?;
    let (baseline, baseline_addr) = start_baseline(&nats.url()).await?;
    let service_url = svc.url("/webhooks/employes");
    let baseline_url = format!("http://{baseline_addr}/webhooks/employes");
    // Warm-up (connections, JIT-free but caches and pools).
    load(&service_url, sim.company, 2_000, connections, "warm_s").await?;
    load(&baseline_url, sim.company, 2_000, connections, "warm_b").await?;
    let (mut svc_runs, mut base_runs) = (Vec::new(), Vec::new());
    let cpu0 = svc.cpu_seconds();
    let perf = Perf::attach(svc.pid(), "intake");
    // Paired rounds in alternating order; the ratio is the median of the rounds' ratios, so one
    // noisy round on this shared machine does not decide the figure.
    // CPU seconds of (server under test, nats-server, this process = load generator), per side.
    let mut cpu = [[0.0f64; 3]; 2];
    let this = std::process::id();
    let nats_pid = nats.pid();
    for round in 0..ROUNDS {
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let (url, pid, runs) = if side == 0 {
                (&baseline_url, baseline.id(), &mut base_runs)
            } else {
                (&service_url, svc.pid(), &mut svc_runs)
            };
            let before = [cpu_seconds(pid), cpu_seconds(nats_pid), cpu_seconds(this)];
            runs.push(load(url, sim.company, total, connections, &format!("{side}-{round}")).await?);
            let after = [cpu_seconds(pid), cpu_seconds(nats_pid), cpu_seconds(this)];
            for i in 0..3 {
                cpu[side][i] += after[i] - before[i];
            }
        }
    }
    let per = |c: f64| c * 1e6 / (total * ROUNDS) as f64;
    report.note(format!(
        "intake: CPU µs per webhook (server / nats-server / load generator): service {:.0} / {:.0} / {:.0}, \
         baseline {:.0} / {:.0} / {:.0} (clock ticks of 10 ms, so ±{:.1} µs)",
        per(cpu[1][0]),
        per(cpu[1][1]),
        per(cpu[1][2]),
        per(cpu[0][0]),
        per(cpu[0][1]),
        per(cpu[0][2]),
        per(0.01 * ROUNDS as f64)
    ));
    let svc_cpu = svc.cpu_seconds() - cpu0;
    if let Some(txt) = perf.and_then(Perf::finish) {
        report.note(format!("intake: perf profile in {}", txt.display()));
    }
    drop(baseline);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let of = |v: &[Load], f: fn(&Load) -> f64| median(v.iter().map(f).collect());
    let (s_rate, b_rate) = (of(&svc_runs, |l| l.rate), of(&base_runs, |l| l.rate));
    let (s_p99, b_p99) = (of(&svc_runs, |l| l.p99_ms), of(&base_runs, |l| l.p99_ms));
    let (s_p50, b_p50) = (of(&svc_runs, |l| l.p50_ms), of(&base_runs, |l| l.p50_ms));
    let errors: usize = svc_runs.iter().chain(&base_runs).map(|l| l.errors).sum();
    let ratios: Vec<f64> = svc_runs.iter().zip(&base_runs).map(|(s, b)| s.rate / b.rate).collect();
    let ratio = median(ratios.clone());
    report.note(format!(
        "intake: per-round ratios {}",
        ratios.iter().map(|r| format!("{r:.2}")).collect::<Vec<_>>().join(", ")
    ));
    report.figure(
        "Webhook intake throughput vs baseline (JetStream publish only)",
        format!(
            "{ratio:.2}× ({s_rate:.0}/s vs {b_rate:.0}/s); p50/p99 service {s_p50:.1}/{s_p99:.1} ms, baseline {b_p50:.1}/{b_p99:.1} ms; {errors} non-202"
        ),
        "≥ 0.8× baseline; p99 reported",
        Some(ratio >= 0.8 && errors == 0),
    );
    report.note(format!(
        "intake: service CPU {svc_cpu:.1} s for {} webhooks = {:.2} ms CPU per webhook (service run with --roles http; \
         the baseline runs as its own process too)",
        total * ROUNDS,
        svc_cpu * 1000.0 / (total * ROUNDS) as f64
    ));
    report.raw.insert(
        "intake".into(),
        json!({"service_rate": s_rate, "baseline_rate": b_rate, "ratio": ratio, "service_p99_ms": s_p99,
               "baseline_p99_ms": b_p99, "service_cpu_s": svc_cpu, "errors": errors}),
    );
    Ok(())
}
